import TensorCore

/// Scratch buffers for one block's backward pass, shared by every layer of an encoder
/// (layers run backward one after the other). Sized for the largest batch seen.
final class BackwardScratch {
    // [rows × h]
    let dh1 = Buffer<Float>(count: 0), dfo = Buffer<Float>(count: 0)
    let ds1 = Buffer<Float>(count: 0), dao = Buffer<Float>(count: 0), dctx = Buffer<Float>(count: 0)
    let dq = Buffer<Float>(count: 0), dk = Buffer<Float>(count: 0), dv = Buffer<Float>(count: 0)
    // [rows × f]
    let dgelu = Buffer<Float>(count: 0), dpre = Buffer<Float>(count: 0)
    /// DeBERTa: the scattered score gradients of the c2p and p2c terms, `[H × B·L × W]`.
    let positionC = Buffer<Float>(count: 0), positionP = Buffer<Float>(count: 0)
    func ensure(rows: Int, h: Int, f: Int) {
        for b in [dh1, dfo, ds1, dao, dctx, dq, dk, dv] { b.ensureCapacity(rows * h) }
        for b in [dgelu, dpre] { b.ensureCapacity(rows * f) }
    }
}

extension EncoderLayer {
    /// Backward of `forward` for `dOut [rows × h]` (the gradient of the block's output; `[B × h]`
    /// after a `firstTokenOnly` forward). Writes the gradient of the block's input `[B·L × h]`
    /// into `dX` (overwritten) unless nil, and
    /// accumulates gradients of trainable tensors only: adapters always, W/b/LN in full
    /// fine-tuning. Frozen weights cost one gemm (`dx = dy·W`), never a `dW`.
    func backward(store: ParameterStore, x: UnsafePointer<Float>, dOut: UnsafePointer<Float>, dX: UnsafeMutablePointer<Float>?,
                  batch B: Int, length L: Int, training: Bool, scratch s: BackwardScratch) {
        let h = config.hiddenSize, f = config.intermediateSize
        let rows = B * L, firstTokenOnly = acts.firstTokenOnly
        let rowsQ = firstTokenOnly ? B : rows   // rows of the query side (see `forward`)
        s.ensure(rows: rows, h: h, f: f)
        let hidDrop = training && config.hiddenDropout > 0
        let pHid = config.hiddenDropout

        // out = LN2(sum2), sum2 = dropout(fo) + h1: ds2 goes straight into dh1 (the residual path;
        // intermediate adds to it below) and, through the dropout mask, into dfo.
        LayerNorm.backwardResidual(s: sum2.pointer, gamma: store.values(ln2Weight), mean: mean2.pointer, rstd: rstd2.pointer,
                                   dy: dOut, dResidual: s.dh1.pointer, dBranch: hidDrop ? s.dfo.pointer : nil,
                                   keep: hidDrop ? UnsafePointer(Self.bytes(keep2)) : nil, p: pHid,
                                   dGamma: store.gradient(ln2Weight), dBeta: store.gradient(ln2Bias), rows: rowsQ, cols: h)
        let dfo = UnsafePointer(hidDrop ? s.dfo.pointer : s.dh1.pointer)
        // fo = output(gelu(pre)); pre = intermediate(h1). preGelu holds gelu′(pre) (training forward).
        // (Overwriting kernels below: no zero-fill of the large scratch buffers.)
        output.backward(store: store, x: gelu.pointer, dy: dfo, dx: s.dgelu.pointer, rows: rowsQ, training: training,
                        accumulateDX: false)
        GELU.backward(derivative: preGelu.pointer, dy: s.dgelu.pointer, dx: s.dpre.pointer, count: rowsQ * f, accumulate: false)
        intermediate.backward(store: store, x: h1.pointer, dy: s.dpre.pointer, dx: s.dh1.pointer, rows: rowsQ, training: training)

        // h1 = LN1(sum1), sum1 = dropout(ao) + x: ds1 goes straight into dX (the residual path;
        // q/k/v add to it below) and, through the dropout mask, into dao. (firstTokenOnly: into
        // [B × h] scratch, added to the first tokens' rows of dX at the end.)
        let ds1 = firstTokenOnly ? s.ds1.pointer : dX ?? s.ds1.pointer
        LayerNorm.backwardResidual(s: sum1.pointer, gamma: store.values(ln1Weight), mean: mean1.pointer, rstd: rstd1.pointer,
                                   dy: s.dh1.pointer, dResidual: ds1, dBranch: hidDrop ? s.dao.pointer : nil,
                                   keep: hidDrop ? UnsafePointer(Self.bytes(keep1)) : nil, p: pHid,
                                   dGamma: store.gradient(ln1Weight), dBeta: store.gradient(ln1Bias), rows: rowsQ, cols: h)
        let dao = UnsafePointer(hidDrop ? s.dao.pointer : ds1)
        attentionOutput.backward(store: store, x: context.pointer, dy: dao, dx: s.dctx.pointer, rows: rowsQ, training: training,
                                 accumulateDX: false)

        selfAttentionBackward(store: store, x: x, dX: dX, ds1: ds1, batch: B, length: L, training: training, scratch: s)
    }
}
