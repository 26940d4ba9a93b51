import TensorCore

/// Word + position + token-type embeddings, then LayerNorm and dropout.
///
/// Positions: BERT numbers tokens 0..<L; RoBERTa numbers real tokens `pad+1, pad+2, …` and
/// gives padding the padding index (transformers' `create_position_ids_from_input_ids`).
public final class Embeddings {
    public let word: ParamRef, position: ParamRef, tokenType: ParamRef
    public let lnWeight: ParamRef, lnBias: ParamRef
    let config: EncoderConfig

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
        let h = config.hiddenSize
        word = store.register(prefix + "embeddings.word_embeddings.weight", shape: [config.vocabSize, h], trainable: trainable)
        position = store.register(prefix + "embeddings.position_embeddings.weight", shape: [config.maxPositions, h], trainable: trainable)
        tokenType = store.register(prefix + "embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, h], trainable: trainable)
        lnWeight = store.register(prefix + "embeddings.LayerNorm.weight", shape: [h], trainable: trainable)
        lnBias = store.register(prefix + "embeddings.LayerNorm.bias", shape: [h], trainable: trainable)
    }

    /// Position ids of a `[batch × length]` batch of `inputIDs`.
    func positions(_ inputIDs: [Int32], batch: Int, length: Int) -> [Int32] {
        config.architecture.family.positions(inputIDs, batch: batch, length: length, padTokenID: config.padTokenID)
    }

    /// Embeds a `[batch × length]` batch into `output [rows × h]`. Throws for a token, position
    /// or type id outside its table (e.g. a sequence longer than `max_position_embeddings`).
    func forward(store: ParameterStore, inputIDs: [Int32], tokenTypeIDs: [Int32], batch: Int, length: Int,
                 training: Bool, rng: inout SeededRNG) throws {
        let h = config.hiddenSize, rows = batch * length
        for buf in [sum, output, tmp] { buf.ensureCapacity(rows * h) }
        mean.ensureCapacity(rows); rstd.ensureCapacity(rows)
        positionIDs = positions(inputIDs, batch: batch, length: length)
        try Embedding.forward(ids: inputIDs, table: store.values(word), out: sum.pointer, count: rows, rows: config.vocabSize, dim: h)
        try Embedding.forward(ids: positionIDs, table: store.values(position), out: tmp.pointer, count: rows, rows: config.maxPositions, dim: h)
        Elementwise.add(tmp.pointer, into: sum.pointer, count: rows * h)
        try Embedding.forward(ids: tokenTypeIDs, table: store.values(tokenType), out: tmp.pointer, count: rows, rows: config.typeVocabSize, dim: h)
        Elementwise.add(tmp.pointer, into: sum.pointer, count: rows * h)
        LayerNorm.forward(x: sum.pointer, gamma: store.values(lnWeight), beta: store.values(lnBias), y: output.pointer,
                          mean: mean.pointer, rstd: rstd.pointer, rows: rows, cols: h, eps: config.layerNormEps)
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
        Embedding.backward(ids: positionIDs, dOut: scratch, dTable: store.gradient(position)!, count: rows, dim: h)
        Embedding.backward(ids: tokenTypeIDs, dOut: scratch, dTable: store.gradient(tokenType)!, count: rows, dim: h)
    }
}
