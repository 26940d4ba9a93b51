import TensorCore

/// The sequence-classification head on the first token's hidden state, in the two Hugging
/// Face layouts:
///
/// - BERT: `logits = classifier(dropout(tanh(pooler(h[CLS]))))` (`bert.pooler.dense`, `classifier`);
/// - RoBERTa: `logits = out_proj(dropout(tanh(dense(dropout(h[<s>])))))` (`classifier.dense`, `classifier.out_proj`).
///
/// `numLabels == 1` is regression (STS-B).
public final class ClassificationHead {
    public let layout: HeadLayout
    /// BERT's pooler or RoBERTa's `classifier.dense` (`[h × h]`).
    public let dense: AdaptedLinear
    /// BERT's `classifier` or RoBERTa's `classifier.out_proj` (`[k × h]`).
    public let projection: AdaptedLinear
    public let hidden: Int, numLabels: Int
    /// Dropout after the activation, and before `dense` where the layout has one there.
    public let dropout: Double, preDropout: Double

    // Saved, [B × h] unless noted.
    let cls = Buffer<Float>(count: 0), clsDropped = Buffer<Float>(count: 0), clsKeep = Buffer<Float>(count: 0)
    let pooled = Buffer<Float>(count: 0), pooledDropped = Buffer<Float>(count: 0), pooledKeep = Buffer<Float>(count: 0)
    /// `[B × k]`.
    public let logits = Buffer<Float>(count: 0)
    let g1 = Buffer<Float>(count: 0), g2 = Buffer<Float>(count: 0), g3 = Buffer<Float>(count: 0)
    /// GELU′ of the dense output (GELU heads, training).
    let activationDerivative = Buffer<Float>(count: 0)

    init(store: ParameterStore, config: EncoderConfig, numLabels: Int, dropout: Double, preDropout: Double? = nil, trainDense: Bool) {
        layout = config.architecture.family.head
        hidden = config.hiddenSize
        self.numLabels = numLabels
        self.dropout = dropout
        self.preDropout = preDropout ?? dropout
        dense = AdaptedLinear(store: store, name: layout.dense, inFeatures: hidden, outFeatures: hidden,
                              trainable: trainDense || layout.denseIsClassifier)
        projection = AdaptedLinear(store: store, name: layout.projection, inFeatures: hidden, outFeatures: numLabels, trainable: true)
    }

    static func bytes(_ b: Buffer<Float>) -> UnsafeMutablePointer<UInt8> {
        UnsafeMutableRawPointer(b.pointer).assumingMemoryBound(to: UInt8.self)
    }

    /// `hiddenStates` → `logits [B × k]`, reading sequence b's first token at row `b · rowStride`:
    /// `rowStride = L` for `[B·L × h]` states, 1 for the first tokens alone (`[B × h]`).
    func forward(store: ParameterStore, hiddenStates: UnsafePointer<Float>, batch B: Int, length L: Int, rowStride: Int,
                 training: Bool, rng: inout SeededRNG) {
        let h = hidden
        for b in [cls, clsDropped, pooled, pooledDropped] { b.ensureCapacity(B * h) }
        for b in [clsKeep, pooledKeep] { b.ensureCapacity((B * h + 3) / 4) }
        logits.ensureCapacity(B * numLabels)
        for b in 0..<B { (cls.pointer + b * h).update(from: hiddenStates + b * rowStride * h, count: h) }
        let drop = training && dropout > 0
        var x = cls.pointer
        if layout.dropoutBeforeDense && training && preDropout > 0 {
            Dropout.forward(x: cls.pointer, y: clsDropped.pointer, keep: Self.bytes(clsKeep), count: B * h, p: preDropout, rng: &rng)
            x = clsDropped.pointer
        }
        dense.forward(store: store, x: x, y: pooled.pointer, rows: B, training: training, rng: &rng)
        switch layout.activation {
        case .tanh: Tanh.forward(x: pooled.pointer, y: pooled.pointer, count: B * h)
        case .gelu:
            activationDerivative.ensureCapacity(B * h)
            GELU.forward(x: pooled.pointer, y: pooled.pointer, derivative: activationDerivative.pointer, count: B * h)
        }
        var p = pooled.pointer
        if drop {
            Dropout.forward(x: pooled.pointer, y: pooledDropped.pointer, keep: Self.bytes(pooledKeep), count: B * h, p: dropout, rng: &rng)
            p = pooledDropped.pointer
        }
        projection.forward(store: store, x: p, y: logits.pointer, rows: B, training: training, rng: &rng)
    }

    /// Backward from `dLogits [B × k]`; writes the gradient of the hidden states, laid out as
    /// in `forward`, into `dHidden` when non-nil: `[B·L × h]` with zeros except each sequence's
    /// first row (`rowStride = L`), or the first rows alone, `[B × h]` (`rowStride = 1`).
    func backward(store: ParameterStore, dLogits: UnsafePointer<Float>, dHidden: UnsafeMutablePointer<Float>?,
                  batch B: Int, length L: Int, rowStride: Int, training: Bool) {
        let h = hidden, n = B * h
        for b in [g1, g2, g3] { b.ensureCapacity(n) }
        let drop = training && dropout > 0
        let p = drop ? pooledDropped.pointer : pooled.pointer
        g1.pointer.update(repeating: 0, count: n)
        projection.backward(store: store, x: p, dy: dLogits, dx: g1.pointer, rows: B, training: training)
        var dPooled = g1.pointer
        if drop {
            g2.pointer.update(repeating: 0, count: n)
            Dropout.backward(dy: g1.pointer, keep: Self.bytes(pooledKeep), dx: g2.pointer, count: n, p: dropout)
            dPooled = g2.pointer
        }
        g3.pointer.update(repeating: 0, count: n)
        switch layout.activation {
        case .tanh: Tanh.backward(y: pooled.pointer, dy: dPooled, dx: g3.pointer, count: n)
        case .gelu: GELU.backward(derivative: activationDerivative.pointer, dy: dPooled, dx: g3.pointer, count: n, accumulate: false)
        }
        let preDrop = layout.dropoutBeforeDense && training && preDropout > 0
        let x = preDrop ? clsDropped.pointer : cls.pointer
        guard let dHidden else {
            dense.backward(store: store, x: x, dy: g3.pointer, dx: nil, rows: B, training: training)
            return
        }
        g1.pointer.update(repeating: 0, count: n)
        dense.backward(store: store, x: x, dy: g3.pointer, dx: g1.pointer, rows: B, training: training)
        var dCls = g1.pointer
        if preDrop {
            g2.pointer.update(repeating: 0, count: n)
            Dropout.backward(dy: g1.pointer, keep: Self.bytes(clsKeep), dx: g2.pointer, count: n, p: preDropout)
            dCls = g2.pointer
        }
        if rowStride > 1 { dHidden.update(repeating: 0, count: B * rowStride * h) }
        for b in 0..<B { (dHidden + b * rowStride * h).update(from: dCls + b * h, count: h) }
    }
}
