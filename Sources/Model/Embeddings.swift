import TensorCore

/// Word + position + token-type embeddings, then LayerNorm and dropout.
///
/// Positions: BERT numbers tokens 0..<L; RoBERTa numbers real tokens `pad+1, pad+2, …` and
/// gives padding the padding index (transformers' `create_position_ids_from_input_ids`).
/// DeBERTa: positions only with `position_biased_input`, token types only when
/// `type_vocab_size > 0`, tables of width `embedding_size` projected to the hidden size by
/// `embed_proj` (no bias) when it differs, and the LayerNorm's output multiplied by the
/// attention mask (padding rows are zero).
public final class Embeddings {
    public let word: ParamRef
    /// nil where the family has none (DeBERTa-v3: no absolute positions, no token types).
    public let position: ParamRef?, tokenType: ParamRef?
    /// `embed_proj` `[h × e]` when the tables' width `e` differs from the hidden size `h`.
    public let projection: ParamRef?
    public let lnWeight: ParamRef, lnBias: ParamRef
    let config: EncoderConfig
    /// Whether padding rows of the output are zeroed (DeBERTa).
    let masksOutput: Bool
    /// The tables' sum `[rows × e]` before the projection.
    let tableSum = Buffer<Float>(count: 0)

    // Saved for backward, [rows × h] / [rows].
    let sum = Buffer<Float>(count: 0)
    let mean = Buffer<Float>(count: 0), rstd = Buffer<Float>(count: 0)
    let keep = Buffer<Float>(count: 0)
    let tmp = Buffer<Float>(count: 0)
    var positionIDs: [Int32] = []
    /// The output `[rows × h]`: the first layer's input.
    public let output = Buffer<Float>(count: 0)

    init(store: ParameterStore, prefix: String, config: EncoderConfig, trainable: Bool) {
        self.config = config
        let h = config.hiddenSize, e = config.embeddingSize
        let d = config.disentangled
        masksOutput = d != nil
        word = store.register(prefix + "embeddings.word_embeddings.weight", shape: [config.vocabSize, e], trainable: trainable)
        position = d.map { !$0.positionBiasedInput } ?? false ? nil
            : store.register(prefix + "embeddings.position_embeddings.weight", shape: [config.maxPositions, e], trainable: trainable)
        tokenType = d != nil && config.typeVocabSize == 0 ? nil
            : store.register(prefix + "embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, e], trainable: trainable)
        projection = e == h ? nil : store.register(prefix + "embeddings.embed_proj.weight", shape: [h, e], trainable: trainable)
        lnWeight = store.register(prefix + "embeddings.LayerNorm.weight", shape: [h], trainable: trainable)
        lnBias = store.register(prefix + "embeddings.LayerNorm.bias", shape: [h], trainable: trainable)
    }

    /// Position ids of a `[batch × length]` batch of `inputIDs`.
    func positions(_ inputIDs: [Int32], batch: Int, length: Int) -> [Int32] {
        config.architecture.family.positions(inputIDs, batch: batch, length: length, padTokenID: config.padTokenID)
    }

    /// Embeds a `[batch × length]` batch into `output [rows × h]`. Throws for a token, position
    /// or type id outside its table (e.g. a sequence longer than `max_position_embeddings`).
    /// `attentionMask` (1 real, 0 padding) zeroes padding rows where the family does (DeBERTa).
    func forward(store: ParameterStore, inputIDs: [Int32], tokenTypeIDs: [Int32], attentionMask: [Float], batch: Int, length: Int,
                 training: Bool, rng: inout SeededRNG) throws {
        let h = config.hiddenSize, e = config.embeddingSize, rows = batch * length
        for buf in [sum, output, tmp] { buf.ensureCapacity(rows * max(h, e)) }
        mean.ensureCapacity(rows); rstd.ensureCapacity(rows)
        positionIDs = positions(inputIDs, batch: batch, length: length)
        let tables = projection == nil ? sum : tableSum   // [rows × e]
        tables.ensureCapacity(rows * e)
        try Embedding.forward(ids: inputIDs, table: store.values(word), out: tables.pointer, count: rows, rows: config.vocabSize, dim: e)
        if let position {
            try Embedding.forward(ids: positionIDs, table: store.values(position), out: tmp.pointer, count: rows, rows: config.maxPositions, dim: e)
            Elementwise.add(tmp.pointer, into: tables.pointer, count: rows * e)
        }
        if let tokenType {
            try Embedding.forward(ids: tokenTypeIDs, table: store.values(tokenType), out: tmp.pointer, count: rows, rows: config.typeVocabSize, dim: e)
            Elementwise.add(tmp.pointer, into: tables.pointer, count: rows * e)
        }
        if let projection {
            Linear.forward(x: tables.pointer, weight: store.values(projection), bias: nil, y: sum.pointer, rows: rows,
                           inFeatures: e, outFeatures: h)
        }
        LayerNorm.forward(x: sum.pointer, gamma: store.values(lnWeight), beta: store.values(lnBias), y: output.pointer,
                          mean: mean.pointer, rstd: rstd.pointer, rows: rows, cols: h, eps: config.layerNormEps)
        if masksOutput {
            for r in 0..<rows where !(attentionMask[r] > 0) { (output.pointer + r * h).update(repeating: 0, count: h) }
        }
        if training && config.hiddenDropout > 0 {
            keep.ensureCapacity((rows * h + 3) / 4)
            Dropout.forward(x: output.pointer, y: output.pointer, keep: keepBytes, count: rows * h, p: config.hiddenDropout, rng: &rng)
        }
    }

    var keepBytes: UnsafeMutablePointer<UInt8> { UnsafeMutableRawPointer(keep.pointer).assumingMemoryBound(to: UInt8.self) }

    /// Backward (full fine-tuning only): scatter-adds into the three tables and LN parameters.
    /// `dOut` is consumed (overwritten).
    func backward(store: ParameterStore, inputIDs: [Int32], tokenTypeIDs: [Int32], dOut: UnsafeMutablePointer<Float>,
                  rows: Int, training: Bool, scratch: UnsafeMutablePointer<Float>) {
        guard store.gradient(word) != nil else { return }
        precondition(projection == nil && !masksOutput, "embedding gradients are implemented for BERT and RoBERTa only")
        let h = config.hiddenSize
        if training && config.hiddenDropout > 0 {
            scratch.update(repeating: 0, count: rows * h)
            Dropout.backward(dy: dOut, keep: keepBytes, dx: scratch, count: rows * h, p: config.hiddenDropout)
            dOut.update(from: scratch, count: rows * h)
        }
        scratch.update(repeating: 0, count: rows * h)
        LayerNorm.backward(x: sum.pointer, gamma: store.values(lnWeight), mean: mean.pointer, rstd: rstd.pointer, dy: dOut,
                           dx: scratch, dGamma: store.gradient(lnWeight), dBeta: store.gradient(lnBias), rows: rows, cols: h)
        Embedding.backward(ids: inputIDs, dOut: scratch, dTable: store.gradient(word)!, count: rows, dim: h)
        if let position { Embedding.backward(ids: positionIDs, dOut: scratch, dTable: store.gradient(position)!, count: rows, dim: h) }
        if let tokenType { Embedding.backward(ids: tokenTypeIDs, dOut: scratch, dTable: store.gradient(tokenType)!, count: rows, dim: h) }
    }
}
