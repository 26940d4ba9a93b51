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
/// are needed.
public final class EncoderLayer {
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
    /// The block's output `[rows × h]` (of the last forward).
    public var out: Buffer<Float> { acts.out }

    init(store: ParameterStore, prefix: String, config: EncoderConfig, trainable: Bool) {
        self.config = config
        acts = own
        let h = config.hiddenSize, f = config.intermediateSize
        func lin(_ n: String, _ i: Int, _ o: Int) -> AdaptedLinear {
            AdaptedLinear(store: store, name: prefix + n, inFeatures: i, outFeatures: o, trainable: trainable)
        }
        query = lin("attention.self.query", h, h)
        key = lin("attention.self.key", h, h)
        value = lin("attention.self.value", h, h)
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

    /// The fused attention's sizes for a `[B × L]` batch (heads in place in `[rows × h]`).
    func attentionShape(batch B: Int, length L: Int) -> Attention.Shape {
        Attention.Shape(batch: B, heads: config.numHeads, length: L, headSize: config.headSize, ld: config.hiddenSize)
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
    func forward(store: ParameterStore, x: UnsafePointer<Float>, mask: UnsafePointer<Float>, batch B: Int, length L: Int,
                 training: Bool, rng: inout SeededRNG, shared: LayerActivations? = nil) {
        acts = shared ?? own
        let h = config.hiddenSize, f = config.intermediateSize
        let rows = B * L, pSize = B * config.numHeads * L * L
        for buf in [q, k, v, context, sum1, h1, sum2, out] { buf.ensureCapacity(rows * h) }
        for buf in [mean1, rstd1, mean2, rstd2] { buf.ensureCapacity(rows) }
        for buf in [preGelu, gelu] { buf.ensureCapacity(rows * f) }
        probs.ensureCapacity(pSize)
        let attnDrop = training && config.attentionDropout > 0
        let hidDrop = training && config.hiddenDropout > 0

        query.forward(store: store, x: x, y: q.pointer, rows: rows, training: training, rng: &rng)
        key.forward(store: store, x: x, y: k.pointer, rows: rows, training: training, rng: &rng)
        value.forward(store: store, x: x, y: v.pointer, rows: rows, training: training, rng: &rng)

        // Scores, masked softmax, attention dropout and context, one (b, head) tile at a time.
        let keep = dropoutMask(probsKeep, count: pSize, p: config.attentionDropout, draw: attnDrop, rng: &rng)
        Attention.forward(q: q.pointer, k: k.pointer, v: v.pointer, mask: mask, keep: keep, p: config.attentionDropout,
                          probs: probs.pointer, context: context.pointer, shape: attentionShape(batch: B, length: L))

        attentionOutput.forward(store: store, x: context.pointer, y: sum1.pointer, rows: rows, training: training, rng: &rng)
        LayerNorm.forwardResidual(branch: sum1.pointer, residual: x, keep: dropoutMask(keep1, count: rows * h, p: config.hiddenDropout, draw: hidDrop, rng: &rng),
                                  p: config.hiddenDropout, gamma: store.values(ln1Weight), beta: store.values(ln1Bias), y: h1.pointer,
                                  mean: mean1.pointer, rstd: rstd1.pointer, rows: rows, cols: h, eps: config.layerNormEps)

        intermediate.forward(store: store, x: h1.pointer, y: preGelu.pointer, rows: rows, training: training, rng: &rng)
        if shared == nil {  // training activations: keep gelu'(pre) in place of pre for backward
            GELU.forward(x: preGelu.pointer, y: gelu.pointer, derivative: preGelu.pointer, count: rows * f)
        } else {
            GELU.forward(x: preGelu.pointer, y: gelu.pointer, count: rows * f)
        }
        output.forward(store: store, x: gelu.pointer, y: sum2.pointer, rows: rows, training: training, rng: &rng)
        LayerNorm.forwardResidual(branch: sum2.pointer, residual: h1.pointer, keep: dropoutMask(keep2, count: rows * h, p: config.hiddenDropout, draw: hidDrop, rng: &rng),
                                  p: config.hiddenDropout, gamma: store.values(ln2Weight), beta: store.values(ln2Bias), y: out.pointer,
                                  mean: mean2.pointer, rstd: rstd2.pointer, rows: rows, cols: h, eps: config.layerNormEps)
    }
}

/// Everything one block saves between forward and backward (sized for the largest batch).
final class LayerActivations {
    let q = Buffer<Float>(count: 0), k = Buffer<Float>(count: 0), v = Buffer<Float>(count: 0)   // [rows × h]
    let probs = Buffer<Float>(count: 0)        // P  [B·H·L·L]
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
    let out = Buffer<Float>(count: 0)          // [rows × h]
}
