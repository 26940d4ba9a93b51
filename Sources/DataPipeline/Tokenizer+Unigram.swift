import Foundation

extension Tokenizer {
    /// DeBERTa-v2/v3 from a SentencePiece model file (spm.model), as transformers'
    /// `DebertaV2Tokenizer.from_pretrained` builds it from that file (the tokenizers-backed
    /// tokenizer, `DebertaV2TokenizerFast` in transformers 4):
    ///
    /// - Unigram over every piece of the model with its score; the unknown id is the piece
    ///   `unk_token` (default `[UNK]`), else `trainer_spec.unk_id`. Byte fallback is off even if
    ///   the model was trained with it, as in transformers (characters outside the vocabulary
    ///   become `[UNK]`).
    /// - Normalizers: `Lowercase` if `do_lower_case`, the model's `precompiled_charsmap`,
    ///   `Strip` (right), runs of spaces → one space. Pre-tokenizer: `Metaspace` (`▁`), prepend
    ///   scheme "always" (or "first" if `add_prefix_space` is false).
    /// - `[CLS] A [SEP]`, `[CLS] A [SEP] B [SEP]` (type ids 0… then 1 for `B [SEP]`). Special
    ///   tokens missing from the model (`[MASK]` in DeBERTa-v3) are added after the last piece,
    ///   unless `added_tokens_decoder` (tokenizer_config.json) or added_tokens.json beside the
    ///   model (older DeBERTa-v3 checkpoints: `{"[MASK]": 128000}`) gives their ids.
    ///
    /// Only Unigram models are supported; BPE, WORD and CHAR models throw `.unsupported` naming
    /// `trainer_spec.model_type`.
    public static func loadSentencePiece(modelFile: URL, config: TokenizerConfig = TokenizerConfig()) throws -> Tokenizer {
        var config = config
        let addedTokensFile = modelFile.deletingLastPathComponent().appendingPathComponent("added_tokens.json")
        if FileManager.default.fileExists(atPath: addedTokensFile.path) {
            let json = try JSONFile(addedTokensFile)
            for (content, value) in try json.members(json.root, "the top level") {
                let id = try json.int(value, "the id of \"\(content)\"")
                guard let id32 = Int32(exactly: id), id32 >= 0 else { throw json.fail("the id of \"\(content)\" is out of range") }
                if !config.addedTokens.contains(where: { $0.content == content }) {
                    config.addedTokens.append(AddedToken(content: content, id: id32))
                }
            }
        }
        let data = try readFile(modelFile)
        let proto: SentencePieceModel
        do {
            proto = try SentencePieceModel(protobuf: [UInt8](data))
        } catch {
            throw TokenizerError.malformedFile(modelFile, reason: "not a SentencePiece model: \(error)")
        }
        guard proto.modelType == SentencePieceModel.ModelType.unigram.rawValue else {
            let name = SentencePieceModel.ModelType(rawValue: proto.modelType)?.description ?? "\(proto.modelType)"
            throw TokenizerError.unsupported(modelFile, feature: "trainer_spec.model_type \(name) (only UNIGRAM SentencePiece models)")
        }
        guard !proto.pieces.isEmpty else { throw TokenizerError.malformedFile(modelFile, reason: "the model has no pieces") }
        guard !proto.precompiledCharsmap.isEmpty else {
            throw TokenizerError.unsupported(modelFile, feature: "normalizer_spec.precompiled_charsmap is empty (normalizer \"\(proto.normalizerName ?? "")\"); only models with a compiled normalizer, such as nmt_nfkc, are supported")
        }
        if config.splitByPunct == true {
            throw TokenizerError.unsupported(modelFile, feature: "split_by_punct true")
        }
        let charsmap: PrecompiledNormalizer
        do {
            charsmap = try PrecompiledNormalizer(charsmap: proto.precompiledCharsmap)
        } catch {
            throw TokenizerError.malformedFile(modelFile, reason: "normalizer_spec.precompiled_charsmap: \(error)")
        }
        let unkToken = config.special("unk_token", default: "[UNK]").content
        let unkIndex = proto.pieces.firstIndex { $0.piece == unkToken && $0.score == 0 } ?? Int(proto.unkID)
        let unigram: UnigramModel
        do {
            unigram = try UnigramModel(pieces: proto.pieces.map { ($0.piece, Double($0.score)) }, unknownID: unkIndex,
                                       byteFallback: false)
        } catch VocabularyIssue.malformed(let reason) {
            throw TokenizerError.malformedFile(modelFile, reason: reason)
        }
        var normalizers: [UnigramPipeline.NormalizerStep] = []
        if config.doLowerCase == true { normalizers.append(.lowercase) }
        normalizers += [.precompiled(charsmap), .strip(left: false, right: true), .replaceSpaceRuns(content: [0x20])]
        let pipeline = UnigramPipeline(normalizers: normalizers, replacement: Array("\u{2581}".utf8),
                                       prependScheme: config.addPrefixSpace == false ? .first : .always,
                                       split: true, model: unigram)

        var tokens: [(String, Int32)] = proto.pieces.enumerated().map { ($0.element.piece, Int32($0.offset)) }
        let pieceCount = tokens.count
        // Special tokens that are not pieces get the next free ids (transformers' add_special_tokens).
        let defaults = ["bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "[UNK]", "sep_token": "[SEP]",
                        "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"]
        let order = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]
        var known = Set(tokens.map(\.0))
        for token in config.addedTokens { known.insert(token.content) }
        var nextID = Int32(max(pieceCount, Int(config.addedTokens.map(\.id).max() ?? -1) + 1))
        for key in order {
            let content = config.special(key, default: defaults[key]!).content
            if known.insert(content).inserted {
                tokens.append((content, nextID))
                nextID += 1
            }
        }
        for token in config.addedTokens { tokens.append((token.content, token.id)) }
        let resolved = try resolveSpecialTokens(defaults, order: order, tokens: tokens, config: config, file: modelFile)
        // Added tokens not among the pieces (and not already added) join the matcher as well.
        var added = resolved.added
        for (content, id) in tokens[pieceCount...] where !added.contains(where: { $0.content == content }) {
            added.append(AddedToken(content: content, id: id))
        }
        return Tokenizer(model: .unigram(pipeline), vocabulary: Array(tokens[..<pieceCount]), addedTokens: added,
                         postProcessor: .bert(cls: resolved.ids.cls, sep: resolved.ids.sep),
                         specialTokenIDs: resolved.ids, source: modelFile)
    }

    /// The Unigram model of a tokenizer.json (`"model": {"type": "Unigram", ...}`) with its
    /// normalizer and pre-tokenizer. Returns the pipeline, the vocabulary and the unknown token.
    static func unigramFromTokenizerJSON(_ root: JSONValue, _ modelJSON: JSONValue, _ json: JSONFile) throws
        -> (pipeline: UnigramPipeline, vocabulary: [(String, Int32)], unknownToken: String?) {
        var pieces: [(String, Double)] = []
        for (index, entry) in try json.array(modelJSON["vocab"], "model.vocab").enumerated() {
            let pair = try json.array(entry, "model.vocab[\(index)]")
            guard pair.count == 2 else { throw json.fail("model.vocab[\(index)] must be [piece, score]") }
            let piece = try json.string(pair[0], "model.vocab[\(index)][0]")
            let score: Double
            switch pair[1] {
            case .double(let value): score = value
            case .integer(let value): score = Double(value)
            default: throw json.fail("model.vocab[\(index)][1] (the score) must be a number")
            }
            pieces.append((piece, score))
        }
        guard let unkID = try json.optionalInt(modelJSON["unk_id"], "model.unk_id") else {
            throw TokenizerError.unsupported(json.url, feature: "Unigram model without unk_id")
        }
        let byteFallback = try json.optionalBool(modelJSON["byte_fallback"], "model.byte_fallback") ?? false
        let model: UnigramModel
        do {
            model = try UnigramModel(pieces: pieces, unknownID: unkID, byteFallback: byteFallback)
        } catch VocabularyIssue.malformed(let reason) {
            throw json.fail(reason)
        }
        var normalizers: [UnigramPipeline.NormalizerStep] = []
        try unigramNormalizers(root["normalizer"], json, into: &normalizers)
        let metaspace = try metaspace(root["pre_tokenizer"], json)
        let pipeline = UnigramPipeline(normalizers: normalizers, replacement: Array(metaspace.replacement.utf8),
                                       prependScheme: metaspace.scheme, split: metaspace.split, model: model)
        let vocabulary = pieces.enumerated().map { ($0.element.0, Int32($0.offset)) }
        return (pipeline, vocabulary, pieces[unkID].0)
    }

    private static func unigramNormalizers(_ value: JSONValue?, _ json: JSONFile,
                                           into steps: inout [UnigramPipeline.NormalizerStep]) throws {
        guard let value, !value.isNull else { return }
        let type = try json.string(try json.object(value, "normalizer")["type"], "normalizer.type")
        switch type {
        case "Sequence":
            for member in try json.array(value["normalizers"], "normalizer.normalizers") {
                try unigramNormalizers(member, json, into: &steps)
            }
        case "Precompiled":
            let base64 = try json.string(value["precompiled_charsmap"], "Precompiled.precompiled_charsmap")
            guard let data = Data(base64Encoded: base64) else {
                throw json.fail("Precompiled.precompiled_charsmap is not valid base64")
            }
            if data.isEmpty { return }
            do {
                steps.append(.precompiled(try PrecompiledNormalizer(charsmap: [UInt8](data))))
            } catch {
                throw json.fail("Precompiled.precompiled_charsmap: \(error)")
            }
        case "Strip":
            steps.append(.strip(left: try json.optionalBool(value["strip_left"], "Strip.strip_left") ?? true,
                                right: try json.optionalBool(value["strip_right"], "Strip.strip_right") ?? true))
        case "Lowercase":
            steps.append(.lowercase)
        case "Replace":
            let pattern = try json.object(value["pattern"], "Replace.pattern")
            let content = Array(try json.string(value["content"], "Replace.content").utf8)
            if let literal = try json.optionalString(pattern["String"], "Replace.pattern.String") {
                steps.append(.replace(pattern: Array(literal.utf8), content: content))
            } else if let regex = try json.optionalString(pattern["Regex"], "Replace.pattern.Regex") {
                guard regex == " {2,}" else {
                    throw TokenizerError.unsupported(json.url, feature: "Replace normalizer with regex \"\(regex)\" (only \" {2,}\")")
                }
                steps.append(.replaceSpaceRuns(content: content))
            } else {
                throw json.fail("Replace.pattern must have \"String\" or \"Regex\"")
            }
        default:
            throw TokenizerError.unsupported(json.url, feature: "normalizer \(type) with a Unigram model (only Precompiled, Strip, Lowercase, Replace and Sequence)")
        }
    }

    private static func metaspace(_ value: JSONValue?, _ json: JSONFile) throws
        -> (replacement: String, scheme: UnigramPipeline.PrependScheme, split: Bool) {
        guard let value, !value.isNull else {
            throw TokenizerError.unsupported(json.url, feature: "Unigram model without a Metaspace pre_tokenizer")
        }
        let type = try json.string(try json.object(value, "pre_tokenizer")["type"], "pre_tokenizer.type")
        if type == "Sequence" {
            let members = try json.array(value["pretokenizers"], "pre_tokenizer.pretokenizers")
            guard members.count == 1 else {
                let types = try members.map { try json.string($0["type"], "pre_tokenizer.type") }
                throw TokenizerError.unsupported(json.url, feature: "pre_tokenizer Sequence [\(types.joined(separator: ", "))] with a Unigram model (only a single Metaspace)")
            }
            return try metaspace(members[0], json)
        }
        guard type == "Metaspace" else {
            throw TokenizerError.unsupported(json.url, feature: "pre_tokenizer \(type) with a Unigram model (only Metaspace)")
        }
        let replacement = try json.optionalString(value["replacement"], "Metaspace.replacement") ?? "\u{2581}"
        guard replacement.unicodeScalars.count == 1 else { throw json.fail("Metaspace.replacement must be one character") }
        let scheme: UnigramPipeline.PrependScheme
        if let name = try json.optionalString(value["prepend_scheme"], "Metaspace.prepend_scheme") {
            guard let parsed = UnigramPipeline.PrependScheme(rawValue: name) else {
                throw json.fail("Metaspace.prepend_scheme \"\(name)\" is not always, first or never")
            }
            scheme = parsed
        } else {
            scheme = try json.optionalBool(value["add_prefix_space"], "Metaspace.add_prefix_space") == false ? .never : .always
        }
        return (replacement, scheme, try json.optionalBool(value["split"], "Metaspace.split") ?? true)
    }
}
