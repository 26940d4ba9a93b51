import Foundation

/// DeBERTa-v2 and v3 (`model_type` "deberta-v2"; transformers' `DebertaV2ForSequenceClassification`):
/// positions from 0 when absolute positions are used at all; the ContextPooler head
/// `classifier(dropout(gelu(pooler.dense(dropout(h[CLS])))))`; disentangled attention with the
/// options in `DisentangledConfig`.
public struct DebertaV2Family: EncoderFamily {
    public static let modelType = "deberta-v2"
    public var tensorPrefix: String { "deberta." }
    public var sequenceClassificationClass: String { "DebertaV2ForSequenceClassification" }
    public var defaultPadTokenID: Int { 0 }
    public var classifierDropoutKey: String { "cls_dropout" }
    public var selfAttentionNames: (query: String, key: String, value: String) {
        ("attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj")
    }

    /// `DebertaV2Config`'s defaults for the keys the encoder reads.
    public var configDefaults: [String: Any] {
        ["type_vocab_size": 0, "layer_norm_eps": 1e-7, "max_position_embeddings": 512, "pad_token_id": 0,
         "relative_attention": false, "max_relative_positions": -1, "position_buckets": -1, "position_biased_input": true,
         "share_att_key": false, "norm_rel_ebd": "none", "conv_kernel_size": 0, "conv_groups": 1, "conv_act": "tanh",
         "pooler_dropout": 0.0, "pooler_hidden_act": "gelu"]
    }

    public func positions(_ inputIDs: [Int32], batch: Int, length: Int, padTokenID: Int) -> [Int32] {
        Self.sequentialPositions(batch: batch, length: length)
    }

    public var head: HeadLayout {
        HeadLayout(dense: "pooler.dense", projection: "classifier", dropoutBeforeDense: true,
                   denseIsClassifier: true, denseInitialisable: true, activation: .gelu)
    }

    public func disentangledConfig(_ j: [String: Any], file: String) throws -> DisentangledConfig? {
        try DisentangledConfig(json: j, file: file)
    }
}

/// DeBERTa's encoder options (transformers' `DebertaV2Config` keys in parentheses).
public struct DisentangledConfig: Sendable, Equatable {
    /// Width of the embedding tables (`embedding_size`, default the hidden size); `embed_proj`
    /// maps it to the hidden size when they differ.
    public var embeddingSize: Int
    /// Absolute position embeddings added to the input (`position_biased_input`; false in v3).
    public var positionBiasedInput: Bool
    /// Relative-position attention terms at all (`relative_attention`).
    public var relativeAttention: Bool
    /// Log-bucketed relative positions with this many buckets (`position_buckets`; ≤ 0: none).
    public var positionBuckets: Int
    /// `max_relative_positions`, or `max_position_embeddings` when it is < 1.
    public var maxRelativePositions: Int
    /// The query/key projections also project the relative embeddings (`share_att_key`);
    /// otherwise `pos_key_proj`/`pos_query_proj` do.
    public var shareAttentionKey: Bool
    /// `pos_att_type` contains "c2p" / "p2c".
    public var contentToPosition: Bool, positionToContent: Bool
    /// LayerNorm on the relative embeddings (`norm_rel_ebd` contains "layer_norm").
    public var normalizeRelativeEmbeddings: Bool
    /// The convolution after the first layer (`conv_kernel_size`; 0: none), its activation
    /// (`conv_act`: tanh or gelu).
    public var convKernelSize: Int
    public var convActivation: HeadLayout.Activation

    /// Relative embedding rows per direction (`pos_ebd_size`): the buckets, else the maximum distance.
    public var span: Int { positionBuckets > 0 ? positionBuckets : maxRelativePositions }
    /// transformers' `scale_factor`: 1 + the number of position terms (counted even without
    /// `relative_attention`, as transformers does).
    public var scaleFactor: Int { 1 + (contentToPosition ? 1 : 0) + (positionToContent ? 1 : 0) }

    public init(embeddingSize: Int, positionBiasedInput: Bool = false, relativeAttention: Bool = true, positionBuckets: Int = 256,
                maxRelativePositions: Int = 512, shareAttentionKey: Bool = true, contentToPosition: Bool = true,
                positionToContent: Bool = true, normalizeRelativeEmbeddings: Bool = true, convKernelSize: Int = 0,
                convActivation: HeadLayout.Activation = .tanh) {
        self.embeddingSize = embeddingSize; self.positionBiasedInput = positionBiasedInput
        self.relativeAttention = relativeAttention; self.positionBuckets = positionBuckets
        self.maxRelativePositions = maxRelativePositions; self.shareAttentionKey = shareAttentionKey
        self.contentToPosition = contentToPosition; self.positionToContent = positionToContent
        self.normalizeRelativeEmbeddings = normalizeRelativeEmbeddings; self.convKernelSize = convKernelSize
        self.convActivation = convActivation
    }

    /// Reads the options from a `config.json` object (with the family's defaults merged in);
    /// refuses what the encoder does not implement, naming the key.
    init(json j: [String: Any], file: String) throws {
        func int(_ k: String) -> Int { (j[k] as? NSNumber)?.intValue ?? 0 }
        func bool(_ k: String) -> Bool { (j[k] as? NSNumber)?.boolValue ?? false }
        func fail(_ p: String) -> ConfigError { ConfigError(file: file, problem: p) }
        let hidden = int("hidden_size")
        embeddingSize = (j["embedding_size"] as? NSNumber)?.intValue ?? hidden
        positionBiasedInput = bool("position_biased_input")
        relativeAttention = bool("relative_attention")
        positionBuckets = int("position_buckets")
        let maxRel = int("max_relative_positions")
        maxRelativePositions = maxRel < 1 ? int("max_position_embeddings") : maxRel
        shareAttentionKey = bool("share_att_key")
        var types: [String] = []
        if let s = j["pos_att_type"] as? String { types = s.lowercased().split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        else if let a = j["pos_att_type"] as? [String] { types = a.map { $0.lowercased() } }
        else if j["pos_att_type"] != nil && !(j["pos_att_type"] is NSNull) { throw fail("pos_att_type must be a string such as \"p2c|c2p\" or a list") }
        for t in types where t != "c2p" && t != "p2c" {
            throw fail("pos_att_type \"\(t)\" is not supported (supported: c2p, p2c)")
        }
        contentToPosition = types.contains("c2p")
        positionToContent = types.contains("p2c")
        let norms = (j["norm_rel_ebd"] as? String ?? "none").lowercased().split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        normalizeRelativeEmbeddings = norms.contains("layer_norm")
        convKernelSize = int("conv_kernel_size")
        let act = (j["conv_act"] as? String ?? "tanh").lowercased()
        guard let convAct = HeadLayout.Activation(rawValue: act) else { throw fail("conv_act \"\(act)\" is not supported (supported: tanh, gelu)") }
        convActivation = convAct
        if convKernelSize > 0 && convKernelSize % 2 == 0 { throw fail("conv_kernel_size \(convKernelSize) is even; transformers' padding keeps the length only for odd kernels") }
        if convKernelSize > 0 && int("conv_groups") != 1 { throw fail("conv_groups \(int("conv_groups")) is not supported (supported: 1)") }
        let pooler = j["pooler_hidden_act"] as? String ?? "gelu"
        guard pooler == "gelu" else { throw fail("pooler_hidden_act \"\(pooler)\" is not supported (supported: gelu)") }
        if let p = j["pooler_hidden_size"] as? NSNumber, p.intValue != hidden {
            throw fail("pooler_hidden_size \(p) ≠ hidden_size \(hidden) is not supported")
        }
        if relativeAttention && span < 1 { throw fail("relative attention needs position_buckets or max_relative_positions ≥ 1") }
        if (j["z_steps"] as? NSNumber)?.intValue ?? 0 > 1 { throw fail("z_steps > 1 (enhanced mask decoder) is not supported") }
    }

    /// transformers' `make_log_bucket_position` for one relative position `r`, in Float32 as
    /// torch computes it: `r` itself within ±buckets/2, beyond that
    /// `sign(r)·(ceil(log(|r|/mid) / log((maxPosition − 1)/mid) · (mid − 1)) + mid)`.
    public static func logBucket(_ r: Int, buckets: Int, maxPosition: Int) -> Int {
        let mid = buckets / 2
        let absPos = (r < mid && r > -mid) ? mid - 1 : abs(r)
        if absPos <= mid { return r }
        let num = Float(logf(Float(absPos) / Float(mid)))
        let den = Float(logf(Float(Double(maxPosition - 1) / Double(mid))))
        let logPos = (num / den * Float(mid - 1)).rounded(.up) + Float(mid)
        return r < 0 ? -Int(logPos) : Int(logPos)
    }

    /// `δ(i, j) = clamp(bucket(i − j) + span, 0, 2·span − 1)` for `i, j < length`, as `[L × L]`
    /// offsets from the smallest index used, and that range (`lo`, `count`).
    public func relativeIndex(length L: Int) -> (index: [Int32], lo: Int, count: Int) {
        let S = span
        func delta(_ r: Int) -> Int {
            let b = positionBuckets > 0 ? Self.logBucket(r, buckets: positionBuckets, maxPosition: maxRelativePositions) : r
            return min(max(b + S, 0), 2 * S - 1)
        }
        let lo = delta(-(L - 1)), hi = delta(L - 1)
        var index = [Int32](repeating: 0, count: L * L)
        for i in 0..<L { for j in 0..<L { index[i * L + j] = Int32(delta(i - j) - lo) } }
        return (index, lo, hi - lo + 1)
    }
}
