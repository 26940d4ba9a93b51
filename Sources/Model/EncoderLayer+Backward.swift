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
    // [B·H·L·L]
    let dpd = Buffer<Float>(count: 0), draw = Buffer<Float>(count: 0)

    func ensure(rows: Int, h: Int, f: Int, p: Int) {
        for b in [dh1, dfo, ds1, dao, dctx, dq, dk, dv] { b.ensureCapacity(rows * h) }
        for b in [dgelu, dpre] { b.ensureCapacity(rows * f) }
        for b in [dpd, draw] { b.ensureCapacity(p) }
    }
}

extension EncoderLayer {
    /// Backward of `forward` for `dOut [rows × h]` (the gradient of the block's output).
    /// Writes the gradient of the block's input into `dX` (overwritten) unless nil, and
    /// accumulates gradients of trainable tensors only: adapters always, W/b/LN in full
    /// fine-tuning. Frozen weights cost one gemm (`dx = dy·W`), never a `dW`.
    func backward(store: ParameterStore, x: UnsafePointer<Float>, dOut: UnsafePointer<Float>, dX: UnsafeMutablePointer<Float>?,
                  batch B: Int, length L: Int, training: Bool, scratch s: BackwardScratch) {
        let h = config.hiddenSize, f = config.intermediateSize, H = config.numHeads, dh = config.headSize
        let rows = B * L, n = rows * h, pSize = B * H * L * L
        s.ensure(rows: rows, h: h, f: f, p: pSize)
        let attnDrop = training && config.attentionDropout > 0
        let hidDrop = training && config.hiddenDropout > 0
        let pHid = config.hiddenDropout

        // out = LN2(sum2): ds2, written straight into dh1 (sum2 = dropout(fo) + h1 passes it to h1
        // unchanged; the output branch below reads it as dfo before intermediate adds to dh1).
        LayerNorm.backward(x: sum2.pointer, gamma: store.values(ln2Weight), mean: mean2.pointer, rstd: rstd2.pointer,
                           dy: dOut, dx: s.dh1.pointer, dGamma: store.gradient(ln2Weight), dBeta: store.gradient(ln2Bias),
                           rows: rows, cols: h, accumulate: false)
        var dfo = UnsafePointer(s.dh1.pointer)
        if hidDrop {
            Dropout.backward(dy: s.dh1.pointer, keep: Self.bytes(keep2), dx: s.dfo.pointer, count: n, p: pHid, accumulate: false)
            dfo = UnsafePointer(s.dfo.pointer)
        }
        // fo = output(gelu(pre)); pre = intermediate(h1). preGelu holds gelu′(pre) (training forward).
        // (Overwriting kernels below: no zero-fill of the large scratch buffers.)
        output.backward(store: store, x: gelu.pointer, dy: dfo, dx: s.dgelu.pointer, rows: rows, training: training,
                        accumulateDX: false)
        GELU.backward(derivative: preGelu.pointer, dy: s.dgelu.pointer, dx: s.dpre.pointer, count: rows * f, accumulate: false)
        intermediate.backward(store: store, x: h1.pointer, dy: s.dpre.pointer, dx: s.dh1.pointer, rows: rows, training: training)

        // h1 = LN1(sum1); sum1 = dropout(ao) + x: ds1 goes straight into dX (the residual path),
        // which the attention branch reads as dao before q/k/v add to dX.
        let ds1 = dX ?? s.ds1.pointer
        LayerNorm.backward(x: sum1.pointer, gamma: store.values(ln1Weight), mean: mean1.pointer, rstd: rstd1.pointer,
                           dy: s.dh1.pointer, dx: ds1, dGamma: store.gradient(ln1Weight), dBeta: store.gradient(ln1Bias),
                           rows: rows, cols: h, accumulate: false)
        var dao = UnsafePointer(ds1)
        if hidDrop {
            Dropout.backward(dy: ds1, keep: Self.bytes(keep1), dx: s.dao.pointer, count: n, p: pHid, accumulate: false)
            dao = UnsafePointer(s.dao.pointer)
        }
        attentionOutput.backward(store: store, x: context.pointer, dy: dao, dx: s.dctx.pointer, rows: rows, training: training,
                                 accumulateDX: false)

        // ctx = P'·v per (b, head): dP' = dctx·vᵀ, dv = P'ᵀ·dctx.
        let pUsed = attnDrop ? probsDropped.pointer : probs.pointer
        let act = (L * h, dh), att = (H * L * L, L * L)  // (outer = batch row, inner = head) strides
        Matmul.gemmBatched2D(transB: true, m: L, n: L, k: dh, a: s.dctx.pointer, lda: h, strideA: act,
                             b: v.pointer, ldb: h, strideB: act, c: s.dpd.pointer, ldc: L, strideC: att, outer: B, inner: H)
        Matmul.gemmBatched2D(transA: true, m: L, n: dh, k: L, a: pUsed, lda: L, strideA: att,
                             b: s.dctx.pointer, ldb: h, strideB: act, c: s.dv.pointer, ldc: h, strideC: act, outer: B, inner: H)
        if attnDrop {  // dP = dropout backward of dP', folded into the softmax backward
            MaskedSoftmax.backwardThroughDropout(y: probs.pointer, dyDropped: s.dpd.pointer, keep: Self.bytes(probsKeep),
                                                 p: config.attentionDropout, dx: s.draw.pointer, rows: B * H * L, cols: L,
                                                 scale: 1 / Float(dh).squareRoot())
        } else {
            MaskedSoftmax.backward(y: probs.pointer, dy: s.dpd.pointer, dx: s.draw.pointer, rows: B * H * L, cols: L,
                                   scale: 1 / Float(dh).squareRoot(), accumulate: false)
        }
        // raw = q·kᵀ: dq = draw·k, dk = drawᵀ·q.
        Matmul.gemmBatched2D(m: L, n: dh, k: L, a: s.draw.pointer, lda: L, strideA: att,
                             b: k.pointer, ldb: h, strideB: act, c: s.dq.pointer, ldc: h, strideC: act, outer: B, inner: H)
        Matmul.gemmBatched2D(transA: true, m: L, n: dh, k: L, a: s.draw.pointer, lda: L, strideA: att,
                             b: q.pointer, ldb: h, strideB: act, c: s.dk.pointer, ldc: h, strideC: act, outer: B, inner: H)
        query.backward(store: store, x: x, dy: s.dq.pointer, dx: dX, rows: rows, training: training)
        key.backward(store: store, x: x, dy: s.dk.pointer, dx: dX, rows: rows, training: training)
        value.backward(store: store, x: x, dy: s.dv.pointer, dx: dX, rows: rows, training: training)
    }
}
