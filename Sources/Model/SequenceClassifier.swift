import TensorCore

/// A BERT or RoBERTa encoder with adapters and a classification/regression head, trained
/// with a hand-written forward and backward pass.
///
/// All parameters live in one `ParameterStore`: frozen encoder weights in `store.frozen`, and
/// the trainable tensors (adapters + head, or everything in full fine-tuning) contiguous in
/// `store.trainable` with gradients in `store.gradients`.
public final class SequenceClassifier {
    public let config: EncoderConfig
    public let options: ModelOptions
    public let store = ParameterStore()
    public let embeddings: Embeddings
    public let layers: [EncoderLayer]
    public let head: ClassificationHead
    /// "bert.", "roberta." or "deberta." — the prefix of encoder tensor names.
    public let prefix: String
    /// DeBERTa: the relative-position embeddings and index the layers share (relative attention).
    let relative: RelativePositions?
    /// DeBERTa-v2: the convolution after the first layer.
    let conv: ConvLayer?

    let maskBuffer = Buffer<Float>(count: 0)
    /// Two activation sets the layers alternate between in evaluation (layer i reads set
    /// (i−1) mod 2 and writes set i mod 2), so inference needs 2 layers' memory, not all.
    let evalActivations = [LayerActivations(), LayerActivations()]
    let gradA = Buffer<Float>(count: 0), gradB = Buffer<Float>(count: 0)
    let scratch = BackwardScratch()
    let dLogitsBuffer = Buffer<Float>(count: 0), probsBuffer = Buffer<Float>(count: 0)
    var lastInputIDs: [Int32] = [], lastTokenTypes: [Int32] = []
    /// Names filled by the last `load` (kept by `initializeTrainable`).
    var initialised = Set<String>()
    var lastBatch = 0, lastLength = 0, lastTraining = false

    /// Builds the model and registers every tensor (values are zero until `load` / `initialize`).
    public init(config: EncoderConfig, options: ModelOptions) throws {
        var cfg = config
        if let p = options.hiddenDropout { cfg.hiddenDropout = p }
        if let p = options.attentionDropout { cfg.attentionDropout = p }
        self.config = cfg
        self.options = options
        prefix = cfg.architecture.family.tensorPrefix
        let full = options.fullFineTuning
        let unknown = options.targetModules.filter { !ModelOptions.allModules.contains($0) }
        guard unknown.isEmpty else {
            throw ConfigError(file: "model options", problem: "unknown target module(s) \(unknown); valid: \(ModelOptions.allModules.joined(separator: ", "))")
        }
        if let method = options.adapter {
            for (i, o) in [(cfg.hiddenSize, cfg.hiddenSize), (cfg.hiddenSize, cfg.intermediateSize), (cfg.intermediateSize, cfg.hiddenSize)] {
                if let why = method.incompatibility(inFeatures: i, outFeatures: o) {
                    throw ConfigError(file: "model options", problem: "\(method.name) adapter: \(why)")
                }
            }
        }
        let store = self.store, pre = prefix
        embeddings = Embeddings(store: store, prefix: pre, config: cfg, trainable: full)
        if let d = cfg.disentangled {
            guard !full else {
                throw ConfigError(file: "model options", problem: "full fine-tuning is not implemented for \(cfg.architecture.rawValue) (the gradients of its embeddings, relative embeddings and convolution); use an adapter or head-only training")
            }
            let rel = d.relativeAttention ? RelativePositions(store: store, prefix: pre, config: cfg) : nil
            relative = rel
            layers = (0..<cfg.numLayers).map {
                DisentangledEncoderLayer(store: store, prefix: "\(pre)encoder.layer.\($0).", config: cfg, trainable: false, relative: rel)
            }
            conv = d.convKernelSize > 0 ? ConvLayer(store: store, prefix: pre, config: cfg) : nil
        } else {
            relative = nil; conv = nil
            layers = (0..<cfg.numLayers).map { EncoderLayer(store: store, prefix: "\(pre)encoder.layer.\($0).", config: cfg, trainable: full) }
        }
        for layer in layers {
            if let method = options.adapter {
                for (name, lin) in layer.linears where options.targetModules.contains(name) { lin.attach(method, store: store) }
            }
        }
        head = ClassificationHead(store: store, config: cfg, numLabels: options.numLabels,
                                  dropout: options.classifierDropout ?? cfg.classifierDropout ?? cfg.hiddenDropout,
                                  preDropout: options.classifierDropout ?? cfg.poolerDropout,
                                  trainDense: options.trainPooler || full)
        store.allocate()
    }

    /// Whether the last layer runs its query side for the first tokens only
    /// (`ModelOptions.firstTokenLastLayer`; DeBERTa's last layer always runs in full).
    var firstTokenLastLayer: Bool { options.firstTokenLastLayer && config.disentangled == nil }

    /// Every adapter, layer by layer, module by module.
    public var adapters: [LinearAdapter] { layers.flatMap { $0.linears.compactMap(\.1.adapter) } }

    /// The adapters of one concrete type (e.g. `DCFTAdapter.self`), for tests and tools.
    public func adapters<T: LinearAdapter>(of type: T.Type) -> [T] { adapters.compactMap { $0 as? T } }

    /// Trainable scalars in adapters (the rest of the trainable tensors are the head's, or
    /// everything under full fine-tuning).
    public var adapterParameterCount: Int { adapters.reduce(0) { $0 + $1.parameterCount } }

    /// Names of every adapter tensor.
    public var adapterParameterNames: Set<String> { Set(adapters.flatMap(\.parameterNames)) }

    /// Index of the lowest layer holding a trainable tensor (layers below need no backward),
    /// or `layers.count` when only the head trains.
    var lowestTrainableLayer: Int {
        if options.fullFineTuning { return 0 }
        for (i, l) in layers.enumerated() where l.linears.contains(where: { $0.1.adapter != nil }) {
            return i
        }
        return layers.count
    }

    /// Runs the model on a padded `[batch × length]` batch; returns a pointer to the logits
    /// `[batch × numLabels]` (valid until the next forward). `attentionMask` is 1 for real
    /// tokens and 0 for padding. Dropout is active only when `training`.
    @discardableResult
    public func forward(inputIDs: [Int32], tokenTypeIDs: [Int32], attentionMask: [Float], batch: Int, length: Int,
                        training: Bool, rng: inout SeededRNG) throws -> UnsafeMutablePointer<Float> {
        precondition(inputIDs.count == batch * length && tokenTypeIDs.count == batch * length && attentionMask.count == batch * length,
                     "batch arrays must hold batch × length entries")
        maskBuffer.ensureCapacity(batch * length)
        for i in 0..<batch * length { maskBuffer.pointer[i] = attentionMask[i] > 0 ? 0 : -Float.greatestFiniteMagnitude }
        try embeddings.forward(store: store, inputIDs: inputIDs, tokenTypeIDs: tokenTypeIDs, attentionMask: attentionMask,
                               batch: batch, length: length, training: training, rng: &rng)
        relative?.prepare(store: store, length: length)
        var x = UnsafePointer(embeddings.output.pointer)
        let firstOnly = firstTokenLastLayer
        for (i, layer) in layers.enumerated() {
            layer.forward(store: store, x: x, mask: maskBuffer.pointer, batch: batch, length: length, training: training,
                          rng: &rng, shared: training ? nil : evalActivations[i % 2],
                          firstTokenOnly: firstOnly && i == layers.count - 1)
            x = UnsafePointer(layer.out.pointer)
            if i == 0, let conv {
                conv.forward(store: store, x: embeddings.output.pointer, residual: x, attentionMask: attentionMask, batch: batch,
                             length: length, training: training, rng: &rng)
                x = UnsafePointer(conv.output.pointer)
            }
        }
        // The head reads row b·L of [B·L × h] hidden states, or row b of the last layer's
        // first-token output [B × h].
        head.forward(store: store, hiddenStates: x, batch: batch, length: length, rowStride: firstOnly && !layers.isEmpty ? 1 : length,
                     training: training, rng: &rng)
        lastInputIDs = inputIDs; lastTokenTypes = tokenTypeIDs
        lastBatch = batch; lastLength = length; lastTraining = training
        return head.logits.pointer
    }

    /// Backward of the last `forward` from `dLogits [batch × numLabels]`, accumulating into
    /// `store.gradients` (zero them between optimizer steps). Layers below the lowest
    /// trainable tensor are skipped entirely.
    public func backward(dLogits: UnsafePointer<Float>) {
        precondition(lastTraining, "backward needs a forward with training: true (evaluation shares activations between layers)")
        let B = lastBatch, L = lastLength, rows = B * L, h = config.hiddenSize
        let lowest = lowestTrainableLayer
        let needHidden = lowest < layers.count || options.fullFineTuning
        // DeBERTa's shared-key projections also run on the relative embeddings: room for their rows.
        let extra = config.disentangled?.shareAttentionKey ?? false ? relative?.rows ?? 0 : 0
        gradA.ensureCapacity((rows + extra) * h); gradB.ensureCapacity((rows + extra) * h)
        let firstOnly = firstTokenLastLayer && !layers.isEmpty
        head.backward(store: store, dLogits: dLogits, dHidden: needHidden ? gradA.pointer : nil, batch: B, length: L,
                      rowStride: firstOnly ? 1 : L, training: lastTraining)
        guard needHidden else { return }
        var dOut = gradA, dIn = gradB
        for i in stride(from: layers.count - 1, through: lowest, by: -1) {
            let x = i == 0 ? embeddings.output.pointer : i == 1 && conv != nil ? conv!.output.pointer : layers[i - 1].out.pointer
            let needDX = i > lowest || options.fullFineTuning
            layers[i].backward(store: store, x: x, dOut: dOut.pointer, dX: needDX ? dIn.pointer : nil,
                               batch: B, length: L, training: lastTraining, scratch: scratch)
            swap(&dOut, &dIn)
            if i == 1, needDX, let conv {   // dOut: the gradient of the convolution's output
                conv.backward(store: store, dOut: dOut.pointer, dResidual: dIn.pointer, rows: rows)
                swap(&dOut, &dIn)
            }
        }
        if options.fullFineTuning {
            embeddings.backward(store: store, inputIDs: lastInputIDs, tokenTypeIDs: lastTokenTypes, dOut: dOut.pointer,
                                rows: rows, training: lastTraining, scratch: dIn.pointer)
        }
    }
}
