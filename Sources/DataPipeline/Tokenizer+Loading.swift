import Foundation

extension Tokenizer {
    /// Which files `load(directory:format:)` reads.
    public enum FileFormat: Sendable {
        /// tokenizer.json if present, else vocab.txt (WordPiece), else vocab.json + merges.txt,
        /// else spm.model (SentencePiece Unigram, DeBERTa-v2/v3).
        case automatic
        /// tokenizer.json only.
        case tokenizerJSON
        /// vocab.txt, else vocab.json + merges.txt, else spm.model, ignoring any tokenizer.json.
        case vocabularyFiles
    }

    /// Loads the tokenizer of a Hugging Face model directory.
    ///
    /// tokenizer_config.json and special_tokens_map.json, when present, supply the special
    /// tokens and (for vocabulary files) `do_lower_case`, `strip_accents`,
    /// `tokenize_chinese_chars` and `add_prefix_space`. Errors name the offending file.
    public static func load(directory: URL, format: FileFormat = .automatic) throws -> Tokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
              isDirectory.boolValue else {
            throw TokenizerError.missingFile(directory)
        }
        func file(_ name: String) -> (url: URL, exists: Bool) {
            let url = directory.appendingPathComponent(name)
            return (url, FileManager.default.fileExists(atPath: url.path))
        }
        let config = try TokenizerConfig.read(directory: directory)
        let tokenizerJSON = file("tokenizer.json")
        if format != .vocabularyFiles && tokenizerJSON.exists {
            return try load(tokenizerJSON: tokenizerJSON.url, config: config)
        }
        if format == .tokenizerJSON { throw TokenizerError.missingFile(tokenizerJSON.url) }
        let vocabTxt = file("vocab.txt")
        if vocabTxt.exists { return try loadWordPiece(vocabFile: vocabTxt.url, config: config) }
        let vocabJSON = file("vocab.json"), merges = file("merges.txt")
        if vocabJSON.exists || merges.exists {
            guard vocabJSON.exists else { throw TokenizerError.missingFile(vocabJSON.url) }
            guard merges.exists else { throw TokenizerError.missingFile(merges.url) }
            return try loadByteLevelBPE(vocabFile: vocabJSON.url, mergesFile: merges.url, config: config)
        }
        let spm = file("spm.model")
        if spm.exists { return try loadSentencePiece(modelFile: spm.url, config: config) }
        throw TokenizerError.noTokenizerFiles(directory: directory)
    }

    /// BERT WordPiece from vocab.txt (one token per line; the line number is the id), with
    /// `BertTokenizer`'s defaults: lower-casing on, accents stripped when lower-casing,
    /// CJK split, `[UNK]` `[CLS]` `[SEP]` `[PAD]` `[MASK]`.
    public static func loadWordPiece(vocabFile: URL, config: TokenizerConfig = TokenizerConfig()) throws -> Tokenizer {
        var tokens: [(String, Int32)] = []
        for line in lines(try readFile(vocabFile)) {
            guard var token = String(validating: line, as: UTF8.self) else {
                throw TokenizerError.malformedFile(vocabFile, reason: "line \(tokens.count + 1) is not valid UTF-8")
            }
            // tokenizers' WordPiece::read_file keeps `line.trim_end()`.
            while let last = token.unicodeScalars.last, last.properties.isWhitespace {
                token.unicodeScalars.removeLast()
            }
            tokens.append((token, Int32(tokens.count)))
        }
        guard !tokens.isEmpty else { throw TokenizerError.malformedFile(vocabFile, reason: "the vocabulary is empty") }
        let normalizer = BertNormalizerOptions(
            cleanText: true, handleChineseChars: config.tokenizeChineseChars ?? true,
            stripAccents: config.stripAccents, lowercase: config.doLowerCase ?? true)
        return try makeWordPiece(tokens: tokens, normalizer: normalizer, config: config, file: vocabFile)
    }

    /// RoBERTa byte-level BPE from vocab.json + merges.txt, as transformers'
    /// `RobertaTokenizer`: no prefix space (unless `add_prefix_space`), `<s> A </s></s> B </s>`.
    public static func loadByteLevelBPE(vocabFile: URL, mergesFile: URL,
                                        config: TokenizerConfig = TokenizerConfig()) throws -> Tokenizer {
        let json = try JSONFile(vocabFile)
        var vocabulary: [String: Int] = [:]
        for (token, value) in try json.members(json.root, "the vocabulary") {
            vocabulary[token] = try json.int(value, "the id of \"\(token)\"")
        }
        var merges: [(String, String)] = []
        for (number, rawLine) in lines(try readFile(mergesFile)).enumerated() {
            var line = rawLine
            if line.last == 0x0D { line.removeLast() }  // "\r\n"
            if line.starts(with: "#version".utf8) { continue }
            let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
            guard parts.count == 2, let a = String(validating: parts[0], as: UTF8.self),
                  let b = String(validating: parts[1], as: UTF8.self) else {
                throw TokenizerError.malformedFile(mergesFile, reason: "line \(number + 1) is not two tokens separated by one space")
            }
            merges.append((a, b))
        }
        return try makeByteLevelBPE(vocabulary: vocabulary, merges: merges, addPrefixSpace: config.addPrefixSpace ?? false,
                                    config: config, file: vocabFile, mergesFile: mergesFile)
    }

    /// WordPiece from an in-memory vocabulary (the index is the id).
    public static func wordPiece(vocabulary: [String], normalizer: BertNormalizerOptions = BertNormalizerOptions(),
                                 config: TokenizerConfig = TokenizerConfig()) throws -> Tokenizer {
        let tokens = vocabulary.enumerated().map { ($0.element, Int32($0.offset)) }
        return try makeWordPiece(tokens: tokens, normalizer: normalizer, config: config, file: inMemory)
    }

    /// Byte-level BPE from an in-memory vocabulary (byte-level strings, `Ġ` for space) and
    /// merges in rank order.
    public static func byteLevelBPE(vocabulary: [String: Int], merges: [(String, String)], addPrefixSpace: Bool = false,
                                    config: TokenizerConfig = TokenizerConfig()) throws -> Tokenizer {
        try makeByteLevelBPE(vocabulary: vocabulary, merges: merges, addPrefixSpace: addPrefixSpace,
                             config: config, file: inMemory, mergesFile: inMemory)
    }

    static let inMemory = URL(fileURLWithPath: "/(in-memory vocabulary)")

    /// The lines of a file split at "\n" (no final empty line after a trailing newline).
    static func lines(_ data: Data) -> [ArraySlice<UInt8>] {
        let bytes = [UInt8](data)
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    static func readFile(_ url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TokenizerError.missingFile(url) }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(url, reason: error.localizedDescription)
        }
    }

    static func makeWordPiece(tokens: [(String, Int32)], normalizer: BertNormalizerOptions,
                              config: TokenizerConfig, file: URL) throws -> Tokenizer {
        let unk = config.special("unk_token", default: "[UNK]")
        let model: WordPieceModel
        do {
            model = try WordPieceModel(tokens: tokens, unknownToken: unk.content)
        } catch {
            throw TokenizerError.missingToken(unk.content, file: file)
        }
        let specials = ["pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                        "mask_token": "[MASK]"]
        let resolved = try resolveSpecialTokens(specials, order: ["pad_token", "unk_token", "cls_token", "sep_token", "mask_token"],
                                                tokens: tokens, config: config, file: file)
        return Tokenizer(model: .wordPiece(BasicTokenizer(options: normalizer), model), vocabulary: tokens,
                         addedTokens: resolved.added, postProcessor: .bert(cls: resolved.ids.cls, sep: resolved.ids.sep),
                         specialTokenIDs: resolved.ids, source: file)
    }

    static func makeByteLevelBPE(vocabulary: [String: Int], merges: [(String, String)], addPrefixSpace: Bool,
                                 config: TokenizerConfig, file: URL, mergesFile: URL) throws -> Tokenizer {
        let model: ByteLevelBPEModel
        do {
            model = try ByteLevelBPEModel(vocabulary: vocabulary, merges: merges, unknownToken: nil)
        } catch VocabularyIssue.malformed(let reason) {
            throw TokenizerError.malformedFile(mergesFile, reason: reason)
        }
        let tokens = vocabulary.map { ($0.key, Int32($0.value)) }.sorted { $0.1 < $1.1 }
        let specials = ["bos_token": "<s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
                        "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>"]
        let resolved = try resolveSpecialTokens(specials, order: ["bos_token", "pad_token", "eos_token", "unk_token",
                                                                  "mask_token", "cls_token", "sep_token"],
                                                tokens: tokens, config: config, file: file)
        return Tokenizer(model: .byteLevelBPE(addPrefixSpace: addPrefixSpace, model), vocabulary: tokens,
                         addedTokens: resolved.added, postProcessor: .roberta(cls: resolved.ids.cls, sep: resolved.ids.sep),
                         specialTokenIDs: resolved.ids, source: file)
    }

    /// Special tokens of a vocabulary-file tokenizer: each configured (or default) special
    /// token that is in the vocabulary becomes an added token (matched literally in text, as
    /// transformers does), plus `added_tokens_decoder`. PAD, UNK, CLS and SEP must exist.
    static func resolveSpecialTokens(_ defaults: [String: String], order: [String], tokens: [(String, Int32)],
                                     config: TokenizerConfig, file: URL) throws -> (ids: SpecialTokenIDs, added: [AddedToken]) {
        var idOf: [String: Int32] = [:]
        for (token, id) in tokens { idOf[token] = id }
        var added: [AddedToken] = []
        for key in order {
            let special = config.special(key, default: defaults[key]!)
            guard let id = idOf[special.content], !added.contains(where: { $0.content == special.content }) else { continue }
            added.append(AddedToken(content: special.content, id: id, lstrip: special.lstrip, rstrip: special.rstrip))
        }
        for token in config.addedTokens where !added.contains(where: { $0.content == token.content }) {
            added.append(token)
            idOf[token.content] = token.id
        }
        func required(_ key: String) throws -> Int32 {
            let content = config.special(key, default: defaults[key]!).content
            guard let id = idOf[content] else { throw TokenizerError.missingToken(content, file: file) }
            return id
        }
        let mask = idOf[config.special("mask_token", default: defaults["mask_token"]!).content]
        let ids = SpecialTokenIDs(pad: try required("pad_token"), cls: try required("cls_token"),
                                  sep: try required("sep_token"), unk: try required("unk_token"), mask: mask)
        return (ids, added)
    }
}

/// Why a tokenizer could not be loaded. Every case names the file (or directory) involved.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The directory has neither tokenizer.json, vocab.txt, vocab.json + merges.txt, nor spm.model.
    case noTokenizerFiles(directory: URL)
    /// A file the chosen format needs does not exist.
    case missingFile(URL)
    /// A file exists but could not be read or decoded as UTF-8.
    case unreadableFile(URL, reason: String)
    /// A file was read but its contents are not what the format requires.
    case malformedFile(URL, reason: String)
    /// The file is valid but describes something this implementation does not support
    /// (another model type, normalizer, pre-tokenizer or post-processor).
    case unsupported(URL, feature: String)
    /// A token the tokenizer needs (unknown, CLS, SEP, PAD) is not in the vocabulary.
    case missingToken(String, file: URL)

    public var description: String {
        switch self {
        case .noTokenizerFiles(let directory):
            return "\(directory.path): no tokenizer files (expected tokenizer.json, vocab.txt, vocab.json with merges.txt, or spm.model)"
        case .missingFile(let url):
            return "\(url.path): file not found"
        case .unreadableFile(let url, let reason):
            return "\(url.path): cannot read file: \(reason)"
        case .malformedFile(let url, let reason):
            return "\(url.path): malformed: \(reason)"
        case .unsupported(let url, let feature):
            return "\(url.path): unsupported: \(feature)"
        case .missingToken(let token, let url):
            return "\(url.path): token \"\(token)\" is not in the vocabulary"
        }
    }

    public var errorDescription: String? { description }

    /// The file or directory the error is about.
    public var file: URL {
        switch self {
        case .noTokenizerFiles(let url), .missingFile(let url), .unreadableFile(let url, _),
             .malformedFile(let url, _), .unsupported(let url, _), .missingToken(_, let url):
            return url
        }
    }
}
