import Foundation

/// An invalid or unsupported `config.json`.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let problem: String
    public init(file: String, problem: String) { self.file = file; self.problem = problem }
    public var description: String { "\(file): \(problem)" }
}

/// The encoder hyperparameters of a Hugging Face `config.json` (BertConfig / RobertaConfig).
public struct EncoderConfig: Sendable, Equatable {
    public var architecture: Architecture
    public var vocabSize: Int
    /// Hidden size `h`.
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    /// Feed-forward size `f`.
    public var intermediateSize: Int
    public var maxPositions: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var padTokenID: Int
    public var hiddenDropout: Double
    public var attentionDropout: Double
    /// `classifier_dropout`, or nil to use `hiddenDropout` (as transformers does).
    public var classifierDropout: Double?
    /// Label count when the config names one (`num_labels` / `id2label`), else nil.
    public var numLabels: Int?
    /// Dropout before the head's dense layer when the family has one there and it differs from
    /// `classifierDropout` (DeBERTa's `pooler_dropout`); nil: the classifier dropout.
    public var poolerDropout: Double?
    /// DeBERTa-v2/v3's options (disentangled attention, relative positions, the convolution
    /// layer, factorised embeddings); nil for BERT and RoBERTa.
    public var disentangled: DisentangledConfig?

    /// Per-head size `h / heads`.
    public var headSize: Int { hiddenSize / numHeads }

    public init(architecture: Architecture, vocabSize: Int, hiddenSize: Int, numLayers: Int, numHeads: Int,
                intermediateSize: Int, maxPositions: Int = 512, typeVocabSize: Int = 2, layerNormEps: Float = 1e-12,
                padTokenID: Int = 0, hiddenDropout: Double = 0.1, attentionDropout: Double = 0.1,
                classifierDropout: Double? = nil, numLabels: Int? = nil) {
        self.architecture = architecture; self.vocabSize = vocabSize; self.hiddenSize = hiddenSize
        self.numLayers = numLayers; self.numHeads = numHeads; self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions; self.typeVocabSize = typeVocabSize; self.layerNormEps = layerNormEps
        self.padTokenID = padTokenID; self.hiddenDropout = hiddenDropout; self.attentionDropout = attentionDropout
        self.classifierDropout = classifierDropout; self.numLabels = numLabels
    }

    /// The embedding tables' width: `embedding_size` (DeBERTa, projected to `h` by
    /// `embed_proj` when it differs), else the hidden size.
    public var embeddingSize: Int { disentangled?.embeddingSize ?? hiddenSize }

    /// Parses `config.json`. Refuses architectures and options the encoder does not implement
    /// (other activations, relative position embeddings) with a message naming the key.
    public static func load(file: String) throws -> EncoderConfig {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, problem: "no such file (a model directory needs config.json)")
        }
        guard let given = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError(file: file, problem: "not a JSON object")
        }
        let type = (given["model_type"] as? String ?? "").lowercased()
        guard let arch = Architecture(rawValue: type) else {
            throw ConfigError(file: file, problem: "model_type \"\(type)\" is not supported (supported: \(EncoderFamilies.modelTypes.joined(separator: ", ")))")
        }
        // Keys a family's config class defaults (transformers writes only what differs).
        let j = arch.family.configDefaults.merging(given) { _, value in value }
        func int(_ k: String, _ d: Int? = nil) throws -> Int {
            if let v = j[k] as? NSNumber { return v.intValue }
            if let d { return d }
            throw ConfigError(file: file, problem: "missing integer \"\(k)\"")
        }
        func dbl(_ k: String, _ d: Double) -> Double { (j[k] as? NSNumber)?.doubleValue ?? d }
        let act = j["hidden_act"] as? String ?? "gelu"
        guard act == "gelu" else {
            throw ConfigError(file: file, problem: "hidden_act \"\(act)\" is not supported (supported: gelu, the exact erf form)")
        }
        let pos = j["position_embedding_type"] as? String ?? "absolute"
        guard pos == "absolute" else {
            throw ConfigError(file: file, problem: "position_embedding_type \"\(pos)\" is not supported (supported: absolute)")
        }
        var labels: Int? = (j["num_labels"] as? NSNumber)?.intValue
        if labels == nil, let id2label = j["id2label"] as? [String: Any] { labels = id2label.count }
        var c = EncoderConfig(
            architecture: arch, vocabSize: try int("vocab_size"), hiddenSize: try int("hidden_size"),
            numLayers: try int("num_hidden_layers"), numHeads: try int("num_attention_heads"),
            intermediateSize: try int("intermediate_size"), maxPositions: try int("max_position_embeddings", 512),
            typeVocabSize: try int("type_vocab_size", 2), layerNormEps: Float(dbl("layer_norm_eps", 1e-12)),
            padTokenID: try int("pad_token_id", arch.family.defaultPadTokenID),
            hiddenDropout: dbl("hidden_dropout_prob", 0.1), attentionDropout: dbl("attention_probs_dropout_prob", 0.1),
            classifierDropout: (j[arch.family.classifierDropoutKey] as? NSNumber)?.doubleValue, numLabels: labels)
        c.disentangled = try arch.family.disentangledConfig(j, file: file)
        if c.disentangled != nil { c.poolerDropout = dbl("pooler_dropout", 0) }
        for (key, p) in [("hidden_dropout_prob", c.hiddenDropout), ("attention_probs_dropout_prob", c.attentionDropout),
                         (arch.family.classifierDropoutKey, c.classifierDropout ?? 0), ("pooler_dropout", c.poolerDropout ?? 0)]
            where !(0..<1).contains(p) {
            throw ConfigError(file: file, problem: "\(key) \(p) is not a probability in [0, 1)")
        }
        guard c.hiddenSize > 0, c.numHeads > 0, c.hiddenSize % c.numHeads == 0 else {
            throw ConfigError(file: file, problem: "hidden_size \(c.hiddenSize) is not a multiple of num_attention_heads \(c.numHeads)")
        }
        if let a = j["attention_head_size"] as? NSNumber, a.intValue != c.headSize {
            throw ConfigError(file: file, problem: "attention_head_size \(a) ≠ hidden_size / num_attention_heads = \(c.headSize) is not supported")
        }
        return c
    }
}
