import Foundation

extension Tokenizer {
    /// Loads a Hugging Face `tokenizers` file (tokenizer.json).
    ///
    /// Supported pipelines: WordPiece with `BertNormalizer` (or none) and `BertPreTokenizer`;
    /// BPE with no normalizer and the `ByteLevel` pre-tokenizer; Unigram (DeBERTa-v2/v3) with
    /// `Precompiled`, `Strip`, `Lowercase` and `Replace` normalizers and the `Metaspace`
    /// pre-tokenizer. Post-processors:
    /// `TemplateProcessing`, `BertProcessing`, `RobertaProcessing`, `ByteLevel`, a `Sequence`
    /// of those, or none. The file's `truncation` and `padding` sections are ignored: pass
    /// `maxLength` when encoding. Anything else throws `TokenizerError.unsupported`.
    ///
    /// - Parameter config: tokenizer_config.json settings; only the special token names are
    ///   used (to fill `specialTokenIDs`).
    public static func load(tokenizerJSON url: URL, config: TokenizerConfig = TokenizerConfig()) throws -> Tokenizer {
        let json = try JSONFile(url)
        let root = try json.object(json.root, "the top level")
        let modelJSON = try json.object(root["model"], "\"model\"")
        let added = try addedTokens(root["added_tokens"], json)
        let type = try modelType(modelJSON, json)

        let model: Model
        let vocabulary: [(String, Int32)]
        let defaults: [String: String]
        switch type {
        case "WordPiece":
            vocabulary = try ids(modelJSON["vocab"], json)
            let unk = try json.optionalString(modelJSON["unk_token"], "model.unk_token") ?? "[UNK]"
            let wordPiece: WordPieceModel
            do {
                wordPiece = try WordPieceModel(
                    tokens: vocabulary, unknownToken: unk,
                    continuingSubwordPrefix: try json.optionalString(modelJSON["continuing_subword_prefix"], "continuing_subword_prefix") ?? "##",
                    maxInputCharsPerWord: try json.optionalInt(modelJSON["max_input_chars_per_word"], "max_input_chars_per_word") ?? 100)
            } catch {
                throw TokenizerError.missingToken(unk, file: url)
            }
            let normalizer = try bertNormalizer(root["normalizer"], json)
            let preTokenizer = try componentType(root["pre_tokenizer"], json, "pre_tokenizer")
            guard preTokenizer == "BertPreTokenizer" else {
                throw TokenizerError.unsupported(url, feature: "pre_tokenizer \(preTokenizer ?? "null") with a WordPiece model (only BertPreTokenizer)")
            }
            model = .wordPiece(BasicTokenizer(options: normalizer), wordPiece)
            defaults = ["pad_token": "[PAD]", "unk_token": unk, "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"]
        case "BPE":
            vocabulary = try ids(modelJSON["vocab"], json)
            var merges: [(String, String)] = []
            for (index, entry) in try json.array(modelJSON["merges"], "model.merges").enumerated() {
                if case .string(let line) = entry {
                    let parts = line.unicodeScalars.split(separator: " ", omittingEmptySubsequences: false)
                    guard parts.count == 2 else { throw json.fail("merge \(index + 1) \"\(line)\" is not two tokens") }
                    merges.append((String(String.UnicodeScalarView(parts[0])), String(String.UnicodeScalarView(parts[1]))))
                } else {
                    let pair = try json.array(entry, "merge \(index + 1)")
                    guard pair.count == 2 else { throw json.fail("merge \(index + 1) is not a pair") }
                    merges.append((try json.string(pair[0], "merge \(index + 1)"), try json.string(pair[1], "merge \(index + 1)")))
                }
            }
            try requireUnset(modelJSON, ["continuing_subword_prefix", "end_of_word_suffix"], json)
            if case .double(let p)? = modelJSON["dropout"], p > 0 { throw TokenizerError.unsupported(url, feature: "BPE dropout") }
            if try json.optionalBool(modelJSON["byte_fallback"], "byte_fallback") == true {
                throw TokenizerError.unsupported(url, feature: "BPE byte_fallback")
            }
            if let normalizer = try componentType(root["normalizer"], json, "normalizer") {
                throw TokenizerError.unsupported(url, feature: "normalizer \(normalizer) with a byte-level BPE model (only none)")
            }
            let preTokenizer = root["pre_tokenizer"]
            guard try componentType(preTokenizer, json, "pre_tokenizer") == "ByteLevel" else {
                throw TokenizerError.unsupported(url, feature: "pre_tokenizer \(try componentType(preTokenizer, json, "pre_tokenizer") ?? "null") with a BPE model (only ByteLevel)")
            }
            if try json.optionalBool(preTokenizer?["use_regex"], "use_regex") == false {
                throw TokenizerError.unsupported(url, feature: "ByteLevel pre_tokenizer with use_regex false")
            }
            let unk = try json.optionalString(modelJSON["unk_token"], "model.unk_token")
            var table: [String: Int] = [:]
            for (token, id) in vocabulary { table[token] = Int(id) }
            do {
                model = .byteLevelBPE(
                    addPrefixSpace: try json.optionalBool(preTokenizer?["add_prefix_space"], "add_prefix_space") ?? true,
                    try ByteLevelBPEModel(vocabulary: table, merges: merges, unknownToken: unk,
                                          ignoreMerges: try json.optionalBool(modelJSON["ignore_merges"], "ignore_merges") ?? false))
            } catch VocabularyIssue.malformed(let reason) {
                throw json.fail(reason)
            } catch {
                throw TokenizerError.missingToken(unk ?? "", file: url)
            }
            defaults = ["pad_token": "<pad>", "unk_token": unk ?? "<unk>", "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"]
        case "Unigram":
            let unigram = try unigramFromTokenizerJSON(root, modelJSON, json)
            vocabulary = unigram.vocabulary
            model = .unigram(unigram.pipeline)
            defaults = ["pad_token": "[PAD]", "unk_token": unigram.unknownToken ?? "[UNK]", "cls_token": "[CLS]",
                        "sep_token": "[SEP]", "mask_token": "[MASK]"]
        default:
            throw TokenizerError.unsupported(url, feature: "model type \(type) (only WordPiece, BPE and Unigram)")
        }

        var idOf: [String: Int32] = [:]
        for (token, id) in vocabulary { idOf[token] = id }
        for token in added { idOf[token.content] = token.id }
        let postProcessor = try parsePostProcessor(root["post_processor"], json, idOf: idOf)
        func special(_ key: String, _ fromTemplate: Int32?) throws -> Int32 {
            let name = config.special(key, default: defaults[key]!).content
            if let id = idOf[name] ?? fromTemplate { return id }
            throw TokenizerError.missingToken(name, file: url)
        }
        let templateSpecials = postProcessor.pair.compactMap { piece -> Int32? in
            if case .special(let ids, _) = piece { return ids.first }
            return nil
        }
        let padID = try json.optionalInt(root["padding"]?["pad_id"], "padding.pad_id").map(Int32.init)
        let ids = SpecialTokenIDs(
            pad: try special("pad_token", padID), cls: try special("cls_token", templateSpecials.first),
            sep: try special("sep_token", templateSpecials.last), unk: try special("unk_token", nil),
            mask: idOf[config.special("mask_token", default: defaults["mask_token"]!).content])
        return Tokenizer(model: model, vocabulary: vocabulary, addedTokens: added, postProcessor: postProcessor,
                         specialTokenIDs: ids, source: url)
    }

    /// `model.type`, or for old files without it, the type implied by the fields present.
    private static func modelType(_ model: JSONValue, _ json: JSONFile) throws -> String {
        if let type = try json.optionalString(model["type"], "model.type") { return type }
        if model["merges"] != nil { return "BPE" }
        if model["max_input_chars_per_word"] != nil { return "WordPiece" }
        throw TokenizerError.unsupported(json.url, feature: "model without a \"type\"")
    }

    /// The "type" of a normalizer / pre-tokenizer / post-processor, or nil for null.
    private static func componentType(_ value: JSONValue?, _ json: JSONFile, _ what: String) throws -> String? {
        guard let value, !value.isNull else { return nil }
        return try json.string(try json.object(value, what)["type"], "\(what).type")
    }

    private static func ids(_ vocab: JSONValue?, _ json: JSONFile) throws -> [(String, Int32)] {
        try json.members(vocab, "model.vocab").map { token, value in
            let id = try json.int(value, "the id of \"\(token)\"")
            guard let id32 = Int32(exactly: id), id32 >= 0 else { throw json.fail("the id of \"\(token)\" is out of range") }
            return (token, id32)
        }
    }

    private static func requireUnset(_ model: JSONValue, _ keys: [String], _ json: JSONFile) throws {
        for key in keys {
            if let value = try json.optionalString(model[key], "model.\(key)"), !value.isEmpty {
                throw TokenizerError.unsupported(json.url, feature: "BPE \(key) \"\(value)\"")
            }
        }
    }

    private static func bertNormalizer(_ value: JSONValue?, _ json: JSONFile) throws -> BertNormalizerOptions {
        guard let type = try componentType(value, json, "normalizer") else {
            return BertNormalizerOptions(cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false)
        }
        guard type == "BertNormalizer", let value else {
            throw TokenizerError.unsupported(json.url, feature: "normalizer \(type) with a WordPiece model (only BertNormalizer)")
        }
        return BertNormalizerOptions(
            cleanText: try json.optionalBool(value["clean_text"], "clean_text") ?? true,
            handleChineseChars: try json.optionalBool(value["handle_chinese_chars"], "handle_chinese_chars") ?? true,
            stripAccents: try json.optionalBool(value["strip_accents"], "strip_accents"),
            lowercase: try json.optionalBool(value["lowercase"], "lowercase") ?? true)
    }

    private static func addedTokens(_ value: JSONValue?, _ json: JSONFile) throws -> [AddedToken] {
        guard let value, !value.isNull else { return [] }
        return try json.array(value, "added_tokens").enumerated().map { index, entry in
            let what = "added_tokens[\(index)]"
            if try json.optionalBool(entry["single_word"], "\(what).single_word") == true {
                throw TokenizerError.unsupported(json.url, feature: "\(what) with single_word true")
            }
            let id = try json.int(entry["id"], "\(what).id")
            guard let id32 = Int32(exactly: id), id32 >= 0 else { throw json.fail("\(what).id is out of range") }
            return AddedToken(content: try json.string(entry["content"], "\(what).content"), id: id32,
                              special: try json.optionalBool(entry["special"], "\(what).special") ?? false,
                              lstrip: try json.optionalBool(entry["lstrip"], "\(what).lstrip") ?? false,
                              rstrip: try json.optionalBool(entry["rstrip"], "\(what).rstrip") ?? false)
        }
    }

    private static func parsePostProcessor(_ value: JSONValue?, _ json: JSONFile, idOf: [String: Int32]) throws -> PostProcessor {
        guard let type = try componentType(value, json, "post_processor"), let value else { return .none }
        func pair(_ key: String) throws -> Int32 {
            let entry = try json.array(value[key], "post_processor.\(key)")
            guard entry.count == 2 else { throw json.fail("post_processor.\(key) must be [token, id]") }
            let id = try json.int(entry[1], "post_processor.\(key)[1]")
            guard let id32 = Int32(exactly: id), id32 >= 0 else { throw json.fail("post_processor.\(key) id is out of range") }
            return id32
        }
        switch type {
        case "ByteLevel":
            return .none
        case "BertProcessing":
            return .bert(cls: try pair("cls"), sep: try pair("sep"))
        case "RobertaProcessing":
            return .roberta(cls: try pair("cls"), sep: try pair("sep"))
        case "TemplateProcessing":
            var specialIDs: [String: [Int32]] = [:]
            for (name, entry) in try json.members(value["special_tokens"], "post_processor.special_tokens") {
                specialIDs[name] = try json.array(entry["ids"], "special_tokens.\(name).ids").map {
                    Int32(try json.int($0, "special_tokens.\(name).ids"))
                }
            }
            func template(_ key: String) throws -> [PostProcessor.Piece] {
                try json.array(value[key], "post_processor.\(key)").map { piece in
                    if let special = piece["SpecialToken"] {
                        let name = try json.string(special["id"], "SpecialToken.id")
                        guard let ids = specialIDs[name] else { throw json.fail("template token \"\(name)\" is not in special_tokens") }
                        return .special(ids, typeID: Int32(try json.int(special["type_id"], "SpecialToken.type_id")))
                    }
                    let sequence = try json.object(piece["Sequence"], "a template piece")
                    let typeID = Int32(try json.int(sequence["type_id"], "Sequence.type_id"))
                    return try json.string(sequence["id"], "Sequence.id") == "A" ? .first(typeID: typeID) : .second(typeID: typeID)
                }
            }
            return PostProcessor(single: try template("single"), pair: try template("pair"))
        case "Sequence":
            let members = try json.array(value["processors"], "post_processor.processors").filter {
                try componentType($0, json, "processor") != "ByteLevel"
            }
            guard members.count <= 1 else {
                throw TokenizerError.unsupported(json.url, feature: "post_processor Sequence with \(members.count) non-ByteLevel processors")
            }
            return try parsePostProcessor(members.first, json, idOf: idOf)
        default:
            throw TokenizerError.unsupported(json.url, feature: "post_processor \(type)")
        }
    }
}
