/// The encoder-family seam (docs/ARCHITECTURE.md, "How to add an encoder family").
///
/// What differs between Hugging Face encoder families that share the post-LN transformer block
/// — tensor names, position ids, the padding id's default, the classification head's layout,
/// the class name a merged export declares — lives in one type per family, chosen by
/// `config.json`'s `model_type` through `EncoderFamilies`. The model code asks the family and
/// never tests which family it is. A family whose attention or embeddings differ in kind
/// (DeBERTa's disentangled attention) adds its own layer type behind the same calls.
public protocol EncoderFamily: Sendable {
    /// `config.json`'s `model_type`.
    static var modelType: String { get }
    /// Prefix of encoder tensor names ("bert.", "roberta.").
    var tensorPrefix: String { get }
    /// The transformers class a merged export names in `config.json` (`architectures`).
    var sequenceClassificationClass: String { get }
    /// `pad_token_id` when `config.json` has none.
    var defaultPadTokenID: Int { get }
    /// Position ids of a `[batch × length]` batch of `inputIDs`.
    func positions(_ inputIDs: [Int32], batch: Int, length: Int, padTokenID: Int) -> [Int32]
    /// The classification head's layout.
    var head: HeadLayout { get }
    /// `config.json` values the family's transformers config class defaults, used for keys
    /// the file omits (`save_pretrained` writes only what differs from them).
    var configDefaults: [String: Any] { get }
    /// The config key of the classifier's dropout (`classifier_dropout`, DeBERTa's `cls_dropout`).
    var classifierDropoutKey: String { get }
    /// Names of the query, key and value projections inside a layer.
    var selfAttentionNames: (query: String, key: String, value: String) { get }
    /// The family's disentangled-attention options parsed from `config.json` (DeBERTa), else nil.
    func disentangledConfig(_ json: [String: Any], file: String) throws -> DisentangledConfig?
}

extension EncoderFamily {
    public var modelType: String { Self.modelType }
    public var configDefaults: [String: Any] { [:] }
    public var classifierDropoutKey: String { "classifier_dropout" }
    public var selfAttentionNames: (query: String, key: String, value: String) {
        ("attention.self.query", "attention.self.key", "attention.self.value")
    }
    public func disentangledConfig(_ json: [String: Any], file: String) throws -> DisentangledConfig? { nil }

    /// Positions `0 ..< length` in every row of a `[batch × length]` batch (BERT, DeBERTa).
    public static func sequentialPositions(batch: Int, length: Int) -> [Int32] {
        var pos = [Int32](repeating: 0, count: batch * length)
        for b in 0..<batch { for t in 0..<length { pos[b * length + t] = Int32(t) } }
        return pos
    }
}

/// How a family's sequence-classification head is laid out on the first token's state `h`:
/// `logits = projection(dropout(act(dense(dropout?(h)))))`, `act` tanh (BERT, RoBERTa) or GELU
/// (DeBERTa's ContextPooler).
public struct HeadLayout: Sendable, Equatable {
    /// The activation after `dense`.
    public enum Activation: String, Sendable { case tanh, gelu }
    /// Name of the `[h × h]` dense layer (BERT's pooler, RoBERTa's `classifier.dense`).
    public var dense: String
    /// Name of the `[k × h]` output layer.
    public var projection: String
    /// Whether dropout is also applied before `dense` (RoBERTa).
    public var dropoutBeforeDense: Bool
    /// Whether `dense` belongs to the classifier and always trains (RoBERTa); otherwise it is
    /// the pretrained pooler, trained only with `head.train_pooler` (BERT).
    public var denseIsClassifier: Bool
    /// Whether `dense` may be missing from a pretrained checkpoint and is then initialised.
    public var denseInitialisable: Bool
    /// The activation after `dense`.
    public var activation: Activation = .tanh
}

/// The supported families by `model_type`: one line per family.
public enum EncoderFamilies {
    static let all: [any EncoderFamily] = [
        BertFamily(),
        RobertaFamily(),
        DebertaV2Family(),
    ]

    public static func family(modelType: String) -> (any EncoderFamily)? { all.first { $0.modelType == modelType } }
    public static var modelTypes: [String] { all.map { $0.modelType } }
}

/// Which encoder family a config describes (its `model_type`).
public struct Architecture: RawRepresentable, Hashable, Sendable, Codable {
    public let rawValue: String
    /// Only supported families: `EncoderFamilies` knows `rawValue`.
    public init?(rawValue: String) {
        guard EncoderFamilies.family(modelType: rawValue) != nil else { return nil }
        self.rawValue = rawValue
    }
    /// BERT (and MiniLM, which is a BERT).
    public static let bert = Architecture(rawValue: "bert")!
    /// RoBERTa.
    public static let roberta = Architecture(rawValue: "roberta")!
    /// DeBERTa-v2 and v3 (transformers' `deberta-v2`).
    public static let debertaV2 = Architecture(rawValue: "deberta-v2")!
    /// The family's behaviour.
    public var family: any EncoderFamily { EncoderFamilies.family(modelType: rawValue)! }
}
