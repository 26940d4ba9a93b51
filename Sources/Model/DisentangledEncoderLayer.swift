import TensorCore

/// The relative-position embeddings every DeBERTa layer reads (`encoder.rel_embeddings`, with
/// `encoder.LayerNorm` when `norm_rel_ebd` has "layer_norm"), and the relative index of the
/// current batch length (`DisentangledConfig.relativeIndex`, recomputed when the length changes).
final class RelativePositions {
    let config: DisentangledConfig
    let table: ParamRef
    let lnWeight: ParamRef?, lnBias: ParamRef?
    let hidden: Int, eps: Float
    /// `[2S × h]`: the (normalised) embeddings of the last `prepare`.
    let embeddings = Buffer<Float>(count: 0)
    let mean = Buffer<Float>(count: 0), rstd = Buffer<Float>(count: 0)
    /// `δ − lo` as `[L × L]`, the first row used (`lo`) and the rows used (`window`), for `length`.
    private(set) var index: [Int32] = [0], lo = 0, window = 0, length = -1

    init(store: ParameterStore, prefix: String, config: EncoderConfig) {
        let d = config.disentangled!
        self.config = d
        hidden = config.hiddenSize; eps = config.layerNormEps
        table = store.register(prefix + "encoder.rel_embeddings.weight", shape: [2 * d.span, hidden], trainable: false)
        lnWeight = d.normalizeRelativeEmbeddings ? store.register(prefix + "encoder.LayerNorm.weight", shape: [hidden], trainable: false) : nil
        lnBias = d.normalizeRelativeEmbeddings ? store.register(prefix + "encoder.LayerNorm.bias", shape: [hidden], trainable: false) : nil
    }

    /// Rows of the table (`2S`).
    var rows: Int { 2 * config.span }

    /// Normalises the table into `embeddings` and sets the index for `length`.
    func prepare(store: ParameterStore, length L: Int) {
        let n = rows * hidden
        embeddings.ensureCapacity(n)
        if let lnWeight, let lnBias {
            mean.ensureCapacity(rows); rstd.ensureCapacity(rows)
            LayerNorm.forward(x: store.values(table), gamma: store.values(lnWeight), beta: store.values(lnBias), y: embeddings.pointer,
                              mean: mean.pointer, rstd: rstd.pointer, rows: rows, cols: hidden, eps: eps)
        } else {
            embeddings.pointer.update(from: store.values(table), count: n)
        }
        if L != length { (index, lo, window) = config.relativeIndex(length: L); length = L }
    }
}

/// A DeBERTa-v2/v3 block: `EncoderLayer` with transformers' `DisentangledSelfAttention` in place
/// of BERT's attention (the output dense, LayerNorms and feed-forward are the same).
///
///     q, k, v = x·Wqᵀ+bq, …                                    [B·L × h]
///     R       = dropout(rel)                                    [2S × h]  (pos_dropout)
///     Kr, Qr  = R·Wkᵀ+bk, R·Wqᵀ+bq   (share_att_key: the same, adapted, projections)
///             = pos_key_proj(R), pos_query_proj(R)   (otherwise; frozen)
///     ctx     = DisentangledAttention(q, k, v, Kr, Qr)           [B·L × h]
///
/// With shared keys the projections run once on `[x; R]` (`(B·L + 2S)` rows), so an adapter on
/// the query or key projection sees, forward and backward, every row the reference's replaced
/// `nn.Linear` sees (transformers calls it on the hidden states and on the relative embeddings).
final class DisentangledEncoderLayer: EncoderLayer {
    let relative: RelativePositions?
    /// `pos_key_proj`, `pos_query_proj` (without shared keys; frozen, never adapted).
    let positionKey: AdaptedLinear?, positionQuery: AdaptedLinear?

    init(store: ParameterStore, prefix: String, config: EncoderConfig, trainable: Bool, relative: RelativePositions?) {
        self.relative = relative
        let d = config.disentangled!, h = config.hiddenSize
        let separate = d.relativeAttention && !d.shareAttentionKey
        positionKey = separate && d.contentToPosition
            ? AdaptedLinear(store: store, name: prefix + "attention.self.pos_key_proj", inFeatures: h, outFeatures: h, trainable: false) : nil
        positionQuery = separate && d.positionToContent
            ? AdaptedLinear(store: store, name: prefix + "attention.self.pos_query_proj", inFeatures: h, outFeatures: h, trainable: false) : nil
        super.init(store: store, prefix: prefix, config: config, trainable: trainable)
    }

    var disentangled: DisentangledConfig { config.disentangled! }
    /// Relative-embedding rows appended to the projections' input (shared keys), else 0.
    var extraRows: Int { disentangled.shareAttentionKey ? relative?.rows ?? 0 : 0 }

    func shape(batch B: Int, length L: Int) -> DisentangledAttention.Shape {
        let d = disentangled, on = relative != nil
        return DisentangledAttention.Shape(batch: B, heads: config.numHeads, length: L, headSize: config.headSize, ld: config.hiddenSize,
                                           window: relative?.window ?? 0, contentToPosition: on && d.contentToPosition,
                                           positionToContent: on && d.positionToContent, scaleFactor: d.scaleFactor)
    }

    /// Window rows of `Kr` and `Qr` for the last forward.
    func positionRows(batch B: Int, length L: Int) -> (key: UnsafePointer<Float>?, query: UnsafePointer<Float>?) {
        guard let relative else { return (nil, nil) }
        let h = config.hiddenSize
        if disentangled.shareAttentionKey {
            let base = (B * L + relative.lo) * h
            return (UnsafePointer(k.pointer + base), UnsafePointer(q.pointer + base))
        }
        let base = relative.lo * h
        return (positionKey.map { _ in UnsafePointer(acts.posKey.pointer + base) },
                positionQuery.map { _ in UnsafePointer(acts.posQuery.pointer + base) })
    }

    override func selfAttention(store: ParameterStore, x: UnsafePointer<Float>, xq: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                batch B: Int, length L: Int, training: Bool, rng: inout SeededRNG) {
        precondition(!acts.firstTokenOnly, "DeBERTa's last layer runs in full")
        let h = config.hiddenSize, rows = B * L, extra = extraRows
        // R = dropout(rel) (pos_dropout, the hidden dropout rate), into the tail of [x; R] or its own buffer.
        var r: UnsafePointer<Float>? = nil
        if let relative {
            let dst: UnsafeMutablePointer<Float>
            if extra > 0 {
                acts.extended.ensureCapacity((rows + extra) * h)
                acts.extended.pointer.update(from: x, count: rows * h)
                dst = acts.extended.pointer + rows * h
            } else {
                acts.relative.ensureCapacity(relative.rows * h)
                dst = acts.relative.pointer
            }
            if training && config.hiddenDropout > 0 {
                acts.keep1.ensureCapacity((relative.rows * h + 3) / 4)   // drawn and applied here; keep1 is redrawn below
                Dropout.forward(x: relative.embeddings.pointer, y: dst, keep: Self.bytes(acts.keep1), count: relative.rows * h,
                                p: config.hiddenDropout, rng: &rng)
            } else {
                dst.update(from: relative.embeddings.pointer, count: relative.rows * h)
            }
            r = UnsafePointer(dst)
        }
        let input = extra > 0 ? UnsafePointer(acts.extended.pointer) : x
        q.ensureCapacity((rows + extra) * h); k.ensureCapacity((rows + extra) * h)
        query.forward(store: store, x: input, y: q.pointer, rows: rows + extra, training: training, rng: &rng)
        key.forward(store: store, x: input, y: k.pointer, rows: rows + extra, training: training, rng: &rng)
        value.forward(store: store, x: x, y: v.pointer, rows: rows, training: training, rng: &rng)
        if let relative, let r, extra == 0 {
            for (lin, buf) in [(positionKey, acts.posKey), (positionQuery, acts.posQuery)] {
                guard let lin else { continue }
                buf.ensureCapacity(relative.rows * h)
                lin.forward(store: store, x: r, y: buf.pointer, rows: relative.rows, training: training, rng: &rng)
            }
        }
        let keep = dropoutMask(probsKeep, count: B * config.numHeads * L * L, p: config.attentionDropout,
                               draw: training && config.attentionDropout > 0, rng: &rng)
        let pos = positionRows(batch: B, length: L)
        let index = relative?.index ?? [0]
        index.withUnsafeBufferPointer { ix in
            DisentangledAttention.forward(q: q.pointer, k: k.pointer, v: v.pointer, posKey: pos.key, posQuery: pos.query,
                                          index: ix.baseAddress!, mask: mask, keep: keep, p: config.attentionDropout,
                                          probs: probs.pointer, context: context.pointer, shape: shape(batch: B, length: L))
        }
    }

    override func selfAttentionBackward(store: ParameterStore, x: UnsafePointer<Float>, dX: UnsafeMutablePointer<Float>?,
                                        ds1: UnsafeMutablePointer<Float>, batch B: Int, length L: Int, training: Bool,
                                        scratch s: BackwardScratch) {
        let h = config.hiddenSize, rows = B * L, extra = extraRows
        let sh = shape(batch: B, length: L)
        s.dq.ensureCapacity((rows + extra) * h); s.dk.ensureCapacity((rows + extra) * h)
        // Gradients of the window rows of Kr/Qr go to the projections' extra rows (shared keys);
        // the rest of those rows get none.
        if extra > 0 {
            (s.dq.pointer + rows * h).update(repeating: 0, count: extra * h)
            (s.dk.pointer + rows * h).update(repeating: 0, count: extra * h)
        }
        let n = DisentangledAttention.positionScratchCount(sh)
        if sh.contentToPosition { s.positionC.ensureCapacity(n) }
        if sh.positionToContent { s.positionP.ensureCapacity(n) }
        let pos = positionRows(batch: B, length: L)
        let lo = (relative?.lo ?? 0) * h
        let attnDrop = training && config.attentionDropout > 0
        (relative?.index ?? [0]).withUnsafeBufferPointer { ix in
            DisentangledAttention.backward(q: q.pointer, k: k.pointer, v: v.pointer, posKey: pos.key, posQuery: pos.query,
                                           index: ix.baseAddress!, probs: probs.pointer,
                                           keep: attnDrop ? UnsafePointer(Self.bytes(probsKeep)) : nil, p: config.attentionDropout,
                                           dContext: s.dctx.pointer, dq: s.dq.pointer, dk: s.dk.pointer, dv: s.dv.pointer,
                                           dPosKey: extra > 0 ? s.dk.pointer + rows * h + lo : nil,
                                           dPosQuery: extra > 0 ? s.dq.pointer + rows * h + lo : nil,
                                           posGradC: sh.contentToPosition ? s.positionC.pointer : nil,
                                           posGradP: sh.positionToContent ? s.positionP.pointer : nil, shape: sh)
        }
        // With shared keys the query/key projections ran on [x; R]: their backward covers the
        // extra rows too (dX has room for them; those rows' input gradient is discarded).
        if let dX, extra > 0 { (dX + rows * h).update(repeating: 0, count: extra * h) }
        let input = extra > 0 ? UnsafePointer(acts.extended.pointer) : x
        query.backward(store: store, x: input, dy: s.dq.pointer, dx: dX, rows: rows + extra, training: training)
        key.backward(store: store, x: input, dy: s.dk.pointer, dx: dX, rows: rows + extra, training: training)
        value.backward(store: store, x: x, dy: s.dv.pointer, dx: dX, rows: rows, training: training)
    }
}

/// DeBERTa-v2's convolution after the first layer (transformers' `ConvLayer`, `conv_kernel_size > 0`):
///
///     c   = conv1d(e) over positions (kernel k, zero padding (k−1)/2), padding rows set to 0
///     out = LN(layer₀ + act(dropout(c))) · mask
///
/// `e` is the embeddings' output (the first layer's input), `layer₀` the first layer's output.
/// The convolution is one gemm on an im2col copy `[B·L × k·h]`. Its weights are frozen and the
/// embeddings below train nothing under PEFT, so backward only passes the gradient to `layer₀`.
final class ConvLayer {
    let weight: ParamRef, bias: ParamRef, lnWeight: ParamRef, lnBias: ParamRef
    let kernel: Int, hidden: Int, eps: Float, dropout: Double
    let activation: HeadLayout.Activation
    let columns = Buffer<Float>(count: 0)
    /// The kernel as `[h × k·h]` for the im2col gemm, filled at the first forward (after loading).
    let kernelRows: Buffer<Float>
    var kernelReady = false
    let sum = Buffer<Float>(count: 0), mean = Buffer<Float>(count: 0), rstd = Buffer<Float>(count: 0)
    let keep = Buffer<Float>(count: 0)
    var rowMask: [Float] = []
    /// `[B·L × h]`: the second layer's input.
    let output = Buffer<Float>(count: 0)

    init(store: ParameterStore, prefix: String, config: EncoderConfig) {
        let d = config.disentangled!
        kernel = d.convKernelSize; hidden = config.hiddenSize; eps = config.layerNormEps
        kernelRows = Buffer<Float>(count: hidden * hidden * d.convKernelSize)
        dropout = config.hiddenDropout; activation = d.convActivation
        weight = store.register(prefix + "encoder.conv.conv.weight", shape: [hidden, hidden, kernel], trainable: false)
        bias = store.register(prefix + "encoder.conv.conv.bias", shape: [hidden], trainable: false)
        lnWeight = store.register(prefix + "encoder.conv.LayerNorm.weight", shape: [hidden], trainable: false)
        lnBias = store.register(prefix + "encoder.conv.LayerNorm.bias", shape: [hidden], trainable: false)
    }

    func forward(store: ParameterStore, x: UnsafePointer<Float>, residual: UnsafePointer<Float>, attentionMask: [Float],
                 batch B: Int, length L: Int, training: Bool, rng: inout SeededRNG) {
        let h = hidden, k = kernel, rows = B * L, pad = (k - 1) / 2
        columns.ensureCapacity(rows * k * h)
        for buf in [sum, output] { buf.ensureCapacity(rows * h) }
        mean.ensureCapacity(rows); rstd.ensureCapacity(rows)
        // W [h_out × h_in × k] → [h_out × (k·h_in)] with column u·h + c = W[o, c, u], once: the
        // convolution is frozen (DeBERTa trains adapters and head only).
        let wr = kernelRows.pointer
        if !kernelReady {
            let w = store.values(weight)
            for o in 0..<h { for c in 0..<h { for u in 0..<k { wr[o * k * h + u * h + c] = w[(o * h + c) * k + u] } } }
            kernelReady = true
        }
        for b in 0..<B {
            for t in 0..<L {
                let dst = columns.pointer + (b * L + t) * k * h
                for u in 0..<k {
                    let src = t + u - pad
                    if src >= 0 && src < L { (dst + u * h).update(from: x + (b * L + src) * h, count: h) }
                    else { (dst + u * h).update(repeating: 0, count: h) }
                }
            }
        }
        Linear.forward(x: columns.pointer, weight: wr, bias: store.values(bias), y: sum.pointer, rows: rows,
                       inFeatures: k * h, outFeatures: h)
        rowMask = attentionMask.map { $0 > 0 ? 1 : 0 }
        for r in 0..<rows where rowMask[r] == 0 { (sum.pointer + r * h).update(repeating: 0, count: h) }
        if training && dropout > 0 {
            keep.ensureCapacity((rows * h + 3) / 4)
            Dropout.forward(x: sum.pointer, y: sum.pointer, keep: UnsafeMutableRawPointer(keep.pointer).assumingMemoryBound(to: UInt8.self),
                            count: rows * h, p: dropout, rng: &rng)
        }
        switch activation {
        case .tanh: Tanh.forward(x: sum.pointer, y: sum.pointer, count: rows * h)
        case .gelu: GELU.forward(x: sum.pointer, y: sum.pointer, count: rows * h)
        }
        Elementwise.add(residual, into: sum.pointer, count: rows * h)
        LayerNorm.forward(x: sum.pointer, gamma: store.values(lnWeight), beta: store.values(lnBias), y: output.pointer,
                          mean: mean.pointer, rstd: rstd.pointer, rows: rows, cols: h, eps: eps)
        for r in 0..<rows where rowMask[r] == 0 { (output.pointer + r * h).update(repeating: 0, count: h) }
    }

    /// `dOut [B·L × h]` (consumed) → the gradient of the first layer's output, into `dResidual`
    /// (overwritten).
    func backward(store: ParameterStore, dOut: UnsafeMutablePointer<Float>, dResidual: UnsafeMutablePointer<Float>, rows: Int) {
        let h = hidden
        for r in 0..<rows where rowMask[r] == 0 { (dOut + r * h).update(repeating: 0, count: h) }
        LayerNorm.backward(x: sum.pointer, gamma: store.values(lnWeight), mean: mean.pointer, rstd: rstd.pointer, dy: dOut,
                           dx: dResidual, dGamma: nil, dBeta: nil, rows: rows, cols: h, accumulate: false)
    }
}
