/// How a `SequenceClassifier` is built on top of a pretrained encoder.
public struct ModelOptions: Sendable, Equatable {
    /// The six adaptable modules of every layer.
    public static let allModules = ["query", "key", "value", "attention_output", "intermediate", "output"]

    /// The adapter method on the target modules (any registered `AdapterMethod`); nil = no
    /// adapter: head-only training (or full fine-tuning with `fullFineTuning`).
    public var adapter: (any AdapterMethod)? = DCFTOptions()
    /// Modules that get the adapter (subset of `allModules`).
    public var targetModules: [String] = ModelOptions.allModules
    /// Every weight trainable (the baseline that shows what DCFT saves).
    public var fullFineTuning = false
    /// Whether BERT's pooler is trained with the classifier (RoBERTa's head dense always is).
    public var trainPooler = true
    /// Classes, or 1 for regression.
    public var numLabels: Int = 2
    /// Overrides the config's classifier dropout (`classifier_dropout ?? hidden_dropout_prob`).
    public var classifierDropout: Double? = nil
    /// Overrides the config's hidden and attention dropout (e.g. 0 for golden tests).
    public var hiddenDropout: Double? = nil
    public var attentionDropout: Double? = nil
    /// The last encoder layer computes its query side (queries, attention output, feed-forward,
    /// LayerNorms) for each sequence's first token only — the one row the head reads — while keys
    /// and values still cover every token: the same logits and gradients (up to float summation
    /// order; with LoRA adapter dropout the query side's adapter masks differ, see
    /// `EncoderLayer.forward`) for about a sixth of the layer's work. `false` runs the full last layer.
    public var firstTokenLastLayer = true

    public init(adapter: (any AdapterMethod)? = DCFTOptions(), targetModules: [String] = ModelOptions.allModules,
                fullFineTuning: Bool = false, trainPooler: Bool = true, numLabels: Int = 2,
                classifierDropout: Double? = nil, hiddenDropout: Double? = nil, attentionDropout: Double? = nil) {
        self.adapter = adapter; self.targetModules = targetModules; self.fullFineTuning = fullFineTuning
        self.trainPooler = trainPooler; self.numLabels = numLabels; self.classifierDropout = classifierDropout
        self.hiddenDropout = hiddenDropout; self.attentionDropout = attentionDropout
    }

    /// Equal options: the same adapter method with the same settings, and the same other fields.
    public static func == (a: ModelOptions, b: ModelOptions) -> Bool {
        a.adapter?.name == b.adapter?.name && a.adapter?.settings == b.adapter?.settings
            && a.targetModules == b.targetModules && a.fullFineTuning == b.fullFineTuning && a.trainPooler == b.trainPooler
            && a.numLabels == b.numLabels && a.classifierDropout == b.classifierDropout && a.hiddenDropout == b.hiddenDropout
            && a.attentionDropout == b.attentionDropout && a.firstTokenLastLayer == b.firstTokenLastLayer
    }
}

/// A source of pretrained tensors by name (a safetensors file, a dictionary in tests).
public protocol WeightSource {
    /// Every tensor name in the source.
    var tensorNames: [String] { get }
    /// Shape of a tensor, or nil if absent.
    func tensorShape(_ name: String) -> [Int]?
    /// The tensor's values converted to Float32.
    func tensorFloats(_ name: String) throws -> [Float]
}

/// An in-memory `WeightSource`.
public struct DictionaryWeights: WeightSource {
    public var tensors: [String: (shape: [Int], values: [Float])]
    public init(_ tensors: [String: (shape: [Int], values: [Float])]) { self.tensors = tensors }
    public var tensorNames: [String] { tensors.keys.sorted() }
    public func tensorShape(_ name: String) -> [Int]? { tensors[name]?.shape }
    public func tensorFloats(_ name: String) throws -> [Float] { tensors[name]!.values }
}

/// Pretrained weights that do not fit the model: every problem, listed.
public struct WeightLoadError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var misshaped: [(name: String, expected: [Int], found: [Int])] = []

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty }

    public var description: String {
        var lines = ["\(source): the weights do not fit the model"]
        func list(_ xs: [String]) -> String { xs.prefix(20).joined(separator: ", ") + (xs.count > 20 ? ", … (\(xs.count) in all)" : "") }
        if !missing.isEmpty { lines.append("  missing (\(missing.count)): \(list(missing))") }
        if !unexpected.isEmpty { lines.append("  unexpected (\(unexpected.count)): \(list(unexpected))") }
        for m in misshaped.prefix(20) { lines.append("  mis-shaped: \(m.name) is \(m.found), expected \(m.expected)") }
        return lines.joined(separator: "\n")
    }
}
