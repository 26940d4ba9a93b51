import TensorCore

/// One post-LN transformer block (BERT/RoBERTa):
///
///     q,k,v = x·Wqᵀ+bq, …                       [rows × h]
///     P     = softmax(q·kᵀ/√dh + mask)          [B × H × L × L], per (batch, head)
///     ctx   = dropout(P)·v                      [rows × h]   (P to ctx: `Attention`, fused per tile)
///     h1    = LN1(dropout(ctx·Woᵀ+bo) + x)      [rows × h]
///     g     = gelu(h1·Wiᵀ+bi)                   [rows × f]
///     out   = LN2(dropout(g·Wfᵀ+bf) + h1)       [rows × h]
///
/// Heads are addressed in place inside `[rows × h]` (leading dimension h), so no transposes
/// are needed. The self-attention part (`selfAttention`, from `x` to `ctx`, and its backward)
/// is what a family with another kind of attention overrides (`DisentangledEncoderLayer`);
/// the rest of the block is shared.
public class EncoderLayer {
    public let query, key, value, attentionOutput, intermediate, output: AdaptedLinear
    public let ln1Weight, ln1Bias, ln2Weight, ln2Bias: ParamRef
    let config: EncoderConfig

    /// This layer's own activations (kept for backward in training).
    let own = LayerActivations()
    /// The activations of the last forward: `own` in training; in evaluation a set shared
    /// with other layers (no backward follows, so layers can reuse memory).
    var acts: LayerActivations
    var q: Buffer<Float> { acts.q }
    var k: Buffer<Float> { acts.k }
    var v: Buffer<Float> { acts.v }
    var probs: Buffer<Float> { acts.probs }
    var probsKeep: Buffer<Float> { acts.probsKeep }
    var context: Buffer<Float> { acts.context }
    var sum1: Buffer<Float> { acts.sum1 }
    var h1: Buffer<Float> { acts.h1 }
    var mean1: Buffer<Float> { acts.mean1 }
    var rstd1: Buffer<Float> { acts.rstd1 }
    var keep1: Buffer<Float> { acts.keep1 }
    var keep2: Buffer<Float> { acts.keep2 }
    var preGelu: Buffer<Float> { acts.preGelu }
    var gelu: Buffer<Float> { acts.gelu }
    var sum2: Buffer<Float> { acts.sum2 }
    var mean2: Buffer<Float> { acts.mean2 }
    var rstd2: Buffer<Float> { acts.rstd2 }
    /// The block's output `[rows × h]` (of the last forward; `[B × h]` after a `firstTokenOnly` one).
    public var out: Buffer<Float> { acts.out }

    init(store: ParameterStore, prefix: String, config: EncoderConfig, trainable: Bool) {
        self.config = config
        acts = own
        let h = config.hiddenSize, f = config.intermediateSize
        func lin(_ n: String, _ i: Int, _ o: Int) -> AdaptedLinear {
            AdaptedLinear(store: store, name: prefix + n, inFeatures: i, outFeatures: o, trainable: trainable)
        }
        let names = config.architecture.family.selfAttentionNames
        query = lin(names.query, h, h)
        key = lin(names.key, h, h)
        value = lin(names.value, h, h)
        attentionOutput = lin("attention.output.dense", h, h)
        ln1Weight = store.register(prefix + "attention.output.LayerNorm.weight", shape: [h], trainable: trainable)
        ln1Bias = store.register(prefix + "attention.output.LayerNorm.bias", shape: [h], trainable: trainable)
        intermediate = lin("intermediate.dense", h, f)
        output = lin("output.dense", f, h)
        ln2Weight = store.register(prefix + "output.LayerNorm.weight", shape: [h], trainable: trainable)
        ln2Bias = store.register(prefix + "output.LayerNorm.bias", shape: [h], trainable: trainable)
    }

    /// The six adaptable linears by their module name.
    public var linears: [(String, AdaptedLinear)] {
        [("query", query), ("key", key), ("value", value), ("attention_output", attentionOutput),
         ("intermediate", intermediate), ("output", output)]
    }

    /// The fused attention's sizes for a `[B × L]` batch (heads in place in `[rows × h]`), with
    /// `L` query rows per sequence or, `firstTokenOnly`, one.
    func attentionShape(batch B: Int, length L: Int, firstTokenOnly: Bool) -> Attention.Shape {
        Attention.Shape(batch: B, heads: config.numHeads, length: L, headSize: config.headSize, ld: config.hiddenSize,
                        queries: firstTokenOnly ? 1 : L)
    }

    /// Draws a dropout mask of `count` bytes into `buffer` when `draw` (training with dropout),
    /// for a fused kernel (`Attention`, `LayerNorm.forwardResidual`) to apply; nil otherwise.
    func dropoutMask(_ buffer: Buffer<Float>, count: Int, p: Double, draw: Bool, rng: inout SeededRNG) -> UnsafePointer<UInt8>? {
        guard draw else { return nil }
        buffer.ensureCapacity((count + 3) / 4)
        Dropout.drawMask(keep: Self.bytes(buffer), count: count, p: p, rng: &rng)
        return UnsafePointer(Self.bytes(buffer))
    }

    static func bytes(_ b: Buffer<Float>) -> UnsafeMutablePointer<UInt8> {
        UnsafeMutableRawPointer(b.pointer).assumingMemoryBound(to: UInt8.self)
    }

    /// Runs the block on `x [B·L × h]` with the additive key mask `[B × L]`, into `shared`
    /// activations when given (evaluation), else into the layer's own (training).
    ///
    /// `firstTokenOnly` (the last layer under a head that reads only each sequence's first
    /// token): keys and values are computed for every token, but queries, attention output,
    /// feed-forward and both LayerNorms only for the first token of each sequence, so `out` is
    /// `[B × h]` instead of `[B·L × h]`. Every other token's output would be discarded by the
    /// head, so the logits, and in training every gradient, are those of the full block (the
    /// same dropout masks are drawn and the first tokens' rows used) up to float summation order.
    /// Exception: LoRA adapter dropout (`lora_dropout > 0`) draws its input masks over the rows
    /// an adapter computes, so on the query side they differ from a full pass's (same distribution).
    func forward(store: ParameterStore, x: UnsafePointer<Float>, mask: UnsafePointer<Float>, batch B: Int, length L: Int,
                 training: Bool, rng: inout SeededRNG, shared: LayerActivations? = nil, firstTokenOnly: Bool = false) {
        acts = shared ?? own
        acts.firstTokenOnly = firstTokenOnly
        let h = config.hiddenSize, f = config.intermediateSize
        let rows = B * L, rowsQ = firstTokenOnly ? B : rows   // rowsQ: rows of the query side
        for buf in [k, v] { buf.ensureCapacity(rows * h) }
        for buf in [q, context, sum1, h1, sum2, out] { buf.ensureCapacity(rowsQ * h) }
        for buf in [mean1, rstd1, mean2, rstd2] { buf.ensureCapacity(rowsQ) }
        for buf in [preGelu, gelu] { buf.ensureCapacity(rowsQ * f) }
        probs.ensureCapacity(B * config.numHeads * (firstTokenOnly ? 1 : L) * L)
        let hidDrop = training && config.hiddenDropout > 0
        let xq = firstTokenOnly ? UnsafePointer(Self.gatherFirstTokens(x, into: acts.xFirst, batch: B, length: L, width: h)) : x

        selfAttention(store: store, x: x, xq: xq, mask: mask, batch: B, length: L, training: training, rng: &rng)

        attentionOutput.forward(store: store, x: context.pointer, y: sum1.pointer, rows: rowsQ, training: training, rng: &rng)
        let mask1 = hiddenMask(keep1, rows: rows, firstTokenOnly: firstTokenOnly, length: L, draw: hidDrop, rng: &rng)
        LayerNorm.forwardResidual(branch: sum1.pointer, residual: xq, keep: mask1, p: config.hiddenDropout,
                                  gamma: store.values(ln1Weight), beta: store.values(ln1Bias), y: h1.pointer,
                                  mean: mean1.pointer, rstd: rstd1.pointer, rows: rowsQ, cols: h, eps: config.layerNormEps)

        intermediate.forward(store: store, x: h1.pointer, y: preGelu.pointer, rows: rowsQ, training: training, rng: &rng)
        if shared == nil {  // training activations: keep gelu'(pre) in place of pre for backward
            GELU.forward(x: preGelu.pointer, y: gelu.pointer, derivative: preGelu.pointer, count: rowsQ * f)
        } else {
            GELU.forward(x: preGelu.pointer, y: gelu.pointer, count: rowsQ * f)
        }
        output.forward(store: store, x: gelu.pointer, y: sum2.pointer, rows: rowsQ, training: training, rng: &rng)
        let mask2 = hiddenMask(keep2, rows: rows, firstTokenOnly: firstTokenOnly, length: L, draw: hidDrop, rng: &rng)
        LayerNorm.forwardResidual(branch: sum2.pointer, residual: h1.pointer, keep: mask2, p: config.hiddenDropout,
                                  gamma: store.values(ln2Weight), beta: store.values(ln2Bias), y: out.pointer,
                                  mean: mean2.pointer, rstd: rstd2.pointer, rows: rowsQ, cols: h, eps: config.layerNormEps)
    }

    /// `x [B·L × h]` (queries from `xq`, `[B × h]` under `firstTokenOnly`) → q, k, v, P and
    /// `context`: the projections, then scores, masked softmax, attention dropout and context
    /// one (b, head) tile at a time (`Attention`).
    func selfAttention(store: ParameterStore, x: UnsafePointer<Float>, xq: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                       batch B: Int, length L: Int, training: Bool, rng: inout SeededRNG) {
        let rows = B * L, rowsQ = acts.firstTokenOnly ? B : rows
        query.forward(store: store, x: xq, y: q.pointer, rows: rowsQ, training: training, rng: &rng)
        key.forward(store: store, x: x, y: k.pointer, rows: rows, training: training, rng: &rng)
        value.forward(store: store, x: x, y: v.pointer, rows: rows, training: training, rng: &rng)
        let keep = dropoutMask(probsKeep, count: B * config.numHeads * L * L, p: config.attentionDropout,
                               draw: training && config.attentionDropout > 0, rng: &rng)
        Attention.forward(q: q.pointer, k: k.pointer, v: v.pointer, mask: mask, keep: keep, p: config.attentionDropout,
                          probs: probs.pointer, context: context.pointer,
                          shape: attentionShape(batch: B, length: L, firstTokenOnly: acts.firstTokenOnly))
    }

    /// Backward of `selfAttention` from `s.dctx`: the attention core, then the q/k/v projections,
    /// accumulating into `dX` (which holds the residual path's gradient; nil when nothing below
    /// needs it). `ds1`: that residual gradient when it is kept apart (`firstTokenOnly`).
    func selfAttentionBackward(store: ParameterStore, x: UnsafePointer<Float>, dX: UnsafeMutablePointer<Float>?,
                               ds1: UnsafeMutablePointer<Float>, batch B: Int, length L: Int, training: Bool,
                               scratch s: BackwardScratch) {
        let h = config.hiddenSize, rows = B * L, firstTokenOnly = acts.firstTokenOnly
        let rowsQ = firstTokenOnly ? B : rows
        let attnDrop = training && config.attentionDropout > 0
        // ctx = dropout(P)·v, P = softmax(q·kᵀ/√dh + mask): dq, dk, dv per (b, head) tile.
        Attention.backward(q: q.pointer, k: k.pointer, v: v.pointer, probs: probs.pointer,
                           keep: attnDrop ? UnsafePointer(Self.bytes(probsKeep)) : nil, p: config.attentionDropout,
                           dContext: s.dctx.pointer, dq: s.dq.pointer, dk: s.dk.pointer, dv: s.dv.pointer,
                           shape: attentionShape(batch: B, length: L, firstTokenOnly: firstTokenOnly))
        let xq = firstTokenOnly ? UnsafePointer(acts.xFirst.pointer) : x
        query.backward(store: store, x: xq, dy: s.dq.pointer, dx: dX == nil ? nil : firstTokenOnly ? ds1 : dX, rows: rowsQ,
                       training: training)
        key.backward(store: store, x: x, dy: s.dk.pointer, dx: dX, rows: rows, training: training, accumulateDX: !firstTokenOnly)
        value.backward(store: store, x: x, dy: s.dv.pointer, dx: dX, rows: rows, training: training)
        if firstTokenOnly, let dX {  // the residual and query paths reach the first tokens only
            for b in 0..<B { Elementwise.add(ds1 + b * h, into: dX + b * L * h, count: h) }
        }
    }

    /// A hidden-dropout mask for `[rows × h]` (drawn in full, so the random stream and the
    /// first tokens' masks are those of a full pass), compacted in place to the first token of
    /// each sequence's row when `firstTokenOnly`.
    func hiddenMask(_ buffer: Buffer<Float>, rows: Int, firstTokenOnly: Bool, length L: Int, draw: Bool,
                    rng: inout SeededRNG) -> UnsafePointer<UInt8>? {
        let h = config.hiddenSize
        guard let keep = dropoutMask(buffer, count: rows * h, p: config.hiddenDropout, draw: draw, rng: &rng) else { return nil }
        if firstTokenOnly { Self.firstTokenRows(keep, into: Self.bytes(buffer), batch: rows / L, length: L, width: h) }
        return keep
    }

    /// Copies row `b·L` of `x [B·L × width]` to row `b` of `buffer` (`[B × width]`); returns it.
    static func gatherFirstTokens(_ x: UnsafePointer<Float>, into buffer: Buffer<Float>, batch B: Int, length L: Int,
                                  width: Int) -> UnsafeMutablePointer<Float> {
        buffer.ensureCapacity(B * width)
        firstTokenRows(x, into: buffer.pointer, batch: B, length: L, width: width)
        return buffer.pointer
    }

    /// Row `b·L` of `src [B·L × width]` → row `b` of `dst [B × width]`, for b ascending, so `dst`
    /// may be `src` itself (compaction in place: a row is read before anything overwrites it).
    static func firstTokenRows<T>(_ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>, batch B: Int, length L: Int,
                                  width: Int) {
        for b in 0..<B where UnsafePointer(dst + b * width) != src + b * L * width {
            (dst + b * width).update(from: src + b * L * width, count: width)
        }
    }
}

/// Everything one block saves between forward and backward (sized for the largest batch).
/// Query-side buffers hold `B` rows instead of `B·L` after a `firstTokenOnly` forward.
final class LayerActivations {
    /// Whether the last forward into this set ran `firstTokenOnly`.
    var firstTokenOnly = false
    /// The first token's row of each sequence of the input `[B × h]` (`firstTokenOnly` only).
    let xFirst = Buffer<Float>(count: 0)
    let q = Buffer<Float>(count: 0), k = Buffer<Float>(count: 0), v = Buffer<Float>(count: 0)   // [rows × h]
    let probs = Buffer<Float>(count: 0)        // P  [B·H·L·L] ([B·H·L] first-token only)
    let probsKeep = Buffer<Float>(count: 0)    // attention dropout mask [B·H·L·L] (bytes), with dropout only
    let context = Buffer<Float>(count: 0)      // [rows × h]
    let sum1 = Buffer<Float>(count: 0), h1 = Buffer<Float>(count: 0)   // [rows × h]
    let mean1 = Buffer<Float>(count: 0), rstd1 = Buffer<Float>(count: 0) // [rows]
    let keep1 = Buffer<Float>(count: 0), keep2 = Buffer<Float>(count: 0) // hidden dropout masks (bytes)
    /// `[rows × f]`: the intermediate pre-activation; after a training forward, gelu′ of it
    /// (the backward is then one multiply). `gelu`: the activation `[rows × f]`.
    let preGelu = Buffer<Float>(count: 0), gelu = Buffer<Float>(count: 0)
    let sum2 = Buffer<Float>(count: 0)         // [rows × h]
    let mean2 = Buffer<Float>(count: 0), rstd2 = Buffer<Float>(count: 0)
    let out = Buffer<Float>(count: 0)          // [rows × h] ([B × h] first-token only)
    /// DeBERTa: the projections' input `[x; dropout(relative embeddings)]`, `[(B·L + 2S) × h]`
    /// (shared keys), or the relative embeddings' projections `[2S × h]` and their dropped
    /// input (separate position projections).
    let extended = Buffer<Float>(count: 0)
    let posKey = Buffer<Float>(count: 0), posQuery = Buffer<Float>(count: 0), relative = Buffer<Float>(count: 0)
}
