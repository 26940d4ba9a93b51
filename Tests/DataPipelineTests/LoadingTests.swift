import Foundation
import Testing
@testable import DataPipeline

/// File-format detection, special ids, and clear errors (naming the file) for bad input.
@Suite("Loading")
struct LoadingTests {
    /// A fresh temporary directory holding `files` (name → contents, or a fixture to copy).
    static func directory(_ files: [String: String] = [:], copying fixtures: [URL] = []) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcft-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, contents) in files {
            try Data(contents.utf8).write(to: url.appendingPathComponent(name))
        }
        for fixture in fixtures {
            try FileManager.default.copyItem(at: fixture, to: url.appendingPathComponent(fixture.lastPathComponent))
        }
        return url
    }

    /// Runs `body`, which must throw a TokenizerError about `file` whose message contains `text`.
    static func expectError(about file: URL, containing text: String, _ body: () throws -> Tokenizer) {
        do {
            _ = try body()
            Issue.record("expected an error about \(file.lastPathComponent)")
        } catch let error as TokenizerError {
            #expect(error.file.standardizedFileURL.path == file.standardizedFileURL.path, "\(error)")
            #expect(error.description.contains(file.path), "message should name the file: \(error)")
            #expect(error.description.contains(text), "\(error)")
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test("all-MiniLM-L6-v2: same tokenizer from tokenizer.json and from vocab.txt")
    func minilm() throws {
        let json = try Fixtures.tokenizer(.minilmJSON), txt = try Fixtures.tokenizer(.minilmVocabTxt)
        #expect(json.source?.lastPathComponent == "tokenizer.json")
        #expect(txt.source?.lastPathComponent == "vocab.txt")
        for tokenizer in [json, txt] {
            #expect(tokenizer.kind == .wordPiece)
            #expect(tokenizer.vocabSize == 30522)
            #expect(tokenizer.specialTokenIDs == SpecialTokenIDs(pad: 0, cls: 101, sep: 102, unk: 100, mask: 103))
            #expect(tokenizer.specialTokenCount(pair: true) == 3)
        }
        let text = "Héllo, WORLD! naïve 中文 [MASK]"
        #expect(json.encode(text, "second") == txt.encode(text, "second"))
        #expect(json.tokenize("hello world") == [7592, 2088])
    }

    @Test("byte-level BPE: same tokenizer from tokenizer.json and from vocab.json + merges.txt")
    func roberta() throws {
        let json = try Fixtures.tokenizer(.robertaJSON), files = try Fixtures.tokenizer(.robertaVocabFiles)
        #expect(json.source?.lastPathComponent == "tokenizer.json")
        #expect(files.source?.lastPathComponent == "vocab.json")
        for tokenizer in [json, files] {
            #expect(tokenizer.kind == .byteLevelBPE)
            #expect(tokenizer.vocabSize == 8000)
            #expect(tokenizer.specialTokenIDs == SpecialTokenIDs(pad: 1, cls: 0, sep: 2, unk: 3, mask: 4))
            #expect(tokenizer.specialTokenCount(pair: true) == 4)
        }
        #expect(json.encode("Hello world", "again") == files.encode("Hello world", "again"))
        #expect(json.token(forID: json.tokenize(" world").first!) == "Ġworld")
    }

    @Test("format detection: vocab.txt alone, vocab.json + merges.txt alone")
    func detection() throws {
        let bert = try Self.directory(copying: [Fixtures.minilm.appendingPathComponent("vocab.txt")])
        #expect(try Tokenizer.load(directory: bert).source?.lastPathComponent == "vocab.txt")
        let bpe = try Self.directory(copying: [Fixtures.robertaBPE.appendingPathComponent("vocab.json"),
                                               Fixtures.robertaBPE.appendingPathComponent("merges.txt")])
        #expect(try Tokenizer.load(directory: bpe).kind == .byteLevelBPE)
        #expect(throws: TokenizerError.self) { try Tokenizer.load(directory: bpe, format: .tokenizerJSON) }
    }

    @Test("tokenizer_config.json settings apply to vocab.txt")
    func config() throws {
        let cased = try Self.directory(["tokenizer_config.json": #"{"do_lower_case": false, "strip_accents": null}"#],
                                       copying: [Fixtures.minilm.appendingPathComponent("vocab.txt")])
        let tokenizer = try Tokenizer.load(directory: cased)
        let uncased = try Fixtures.tokenizer(.minilmVocabTxt)
        #expect(tokenizer.tokenize("hello") == uncased.tokenize("hello"))
        #expect(tokenizer.tokenize("Hello") != uncased.tokenize("Hello"))
        #expect(tokenizer.tokenize("é") == [100])  // kept as é: not in the uncased vocabulary
    }

    @Test("missing files and empty directories")
    func missing() throws {
        let empty = try Self.directory()
        Self.expectError(about: empty, containing: "no tokenizer files") { try Tokenizer.load(directory: empty) }
        let nowhere = empty.appendingPathComponent("nowhere")
        Self.expectError(about: nowhere, containing: "not found") { try Tokenizer.load(directory: nowhere) }
        let onlyVocab = try Self.directory(copying: [Fixtures.robertaBPE.appendingPathComponent("vocab.json")])
        Self.expectError(about: onlyVocab.appendingPathComponent("merges.txt"), containing: "not found") {
            try Tokenizer.load(directory: onlyVocab)
        }
        let file = empty.appendingPathComponent("vocab.txt")
        Self.expectError(about: file, containing: "not found") { try Tokenizer.loadWordPiece(vocabFile: file) }
    }

    @Test("malformed files name the file")
    func malformed() throws {
        let badJSON = try Self.directory(["tokenizer.json": "{ \"model\": {\"type\": \"WordPiece\", "])
        Self.expectError(about: badJSON.appendingPathComponent("tokenizer.json"), containing: "not valid JSON") {
            try Tokenizer.load(directory: badJSON)
        }
        let noModel = try Self.directory(["tokenizer.json": #"{"version": "1.0"}"#])
        Self.expectError(about: noModel.appendingPathComponent("tokenizer.json"), containing: "\"model\" must be an object") {
            try Tokenizer.load(directory: noModel)
        }
        let badConfig = try Self.directory(["tokenizer_config.json": "[1, 2", "vocab.txt": "[UNK]\n"])
        Self.expectError(about: badConfig.appendingPathComponent("tokenizer_config.json"), containing: "not valid JSON") {
            try Tokenizer.load(directory: badConfig)
        }
        let badMerges = try Self.directory(["vocab.json": #"{"a": 0, "b": 1, "ab": 2}"#, "merges.txt": "#version: 0.2\na b\nab\n"])
        Self.expectError(about: badMerges.appendingPathComponent("merges.txt"), containing: "line 3") {
            try Tokenizer.load(directory: badMerges)
        }
        let unknownMerge = try Self.directory(["vocab.json": #"{"a": 0, "b": 1}"#, "merges.txt": "a b\n"])
        Self.expectError(about: unknownMerge.appendingPathComponent("merges.txt"), containing: "missing from the vocabulary") {
            try Tokenizer.load(directory: unknownMerge)
        }
        let vocabNotObject = try Self.directory(["vocab.json": "[\"a\"]", "merges.txt": ""])
        Self.expectError(about: vocabNotObject.appendingPathComponent("vocab.json"), containing: "must be an object") {
            try Tokenizer.load(directory: vocabNotObject)
        }
    }

    @Test("unsupported tokenizer.json models and components")
    func unsupported() throws {
        let wordLevel = try Self.directory(["tokenizer.json": #"{"model": {"type": "WordLevel", "vocab": {"a": 0}}}"#])
        Self.expectError(about: wordLevel.appendingPathComponent("tokenizer.json"), containing: "model type WordLevel") {
            try Tokenizer.load(directory: wordLevel)
        }
        let unigram = try Self.directory(["tokenizer.json": #"{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}"#])
        Self.expectError(about: unigram.appendingPathComponent("tokenizer.json"), containing: "Unigram model without unk_id") {
            try Tokenizer.load(directory: unigram)
        }
        let punctuation = try Self.directory(["tokenizer.json": #"""
            {"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]},
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": "Isolated"},
                {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true}]}}
            """#])
        Self.expectError(about: punctuation.appendingPathComponent("tokenizer.json"), containing: "pre_tokenizer Sequence [Punctuation, Metaspace]") {
            try Tokenizer.load(directory: punctuation)
        }
        let nfkc = try Self.directory(["tokenizer.json": """
            {"normalizer": {"type": "NFKC"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}}
            """])
        Self.expectError(about: nfkc.appendingPathComponent("tokenizer.json"), containing: "normalizer NFKC") {
            try Tokenizer.load(directory: nfkc)
        }
        let metaspace = try Self.directory(["tokenizer.json": """
            {"pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}
            """])
        Self.expectError(about: metaspace.appendingPathComponent("tokenizer.json"), containing: "pre_tokenizer Metaspace") {
            try Tokenizer.load(directory: metaspace)
        }
    }

    @Test("missing special tokens name the vocabulary file")
    func missingTokens() throws {
        let noUnk = try Self.directory(["vocab.txt": "[PAD]\n[CLS]\n[SEP]\nhello\n"])
        Self.expectError(about: noUnk.appendingPathComponent("vocab.txt"), containing: "\"[UNK]\"") {
            try Tokenizer.load(directory: noUnk)
        }
        let noCLS = try Self.directory(["vocab.txt": "[PAD]\n[UNK]\n[SEP]\nhello\n"])
        Self.expectError(about: noCLS.appendingPathComponent("vocab.txt"), containing: "\"[CLS]\"") {
            try Tokenizer.load(directory: noCLS)
        }
        let jsonNoUnk = try Self.directory(["tokenizer.json": """
            {"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0}}}
            """])
        Self.expectError(about: jsonNoUnk.appendingPathComponent("tokenizer.json"), containing: "\"[UNK]\"") {
            try Tokenizer.load(directory: jsonNoUnk)
        }
    }

    @Test("vocabularies keep canonically equivalent tokens apart")
    func exactTokens() throws {
        // "é" precomposed and decomposed are different tokens, as in Python.
        let tokenizer = try Tokenizer.wordPiece(
            vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "\u{E9}", "e\u{301}"],
            normalizer: BertNormalizerOptions(stripAccents: false, lowercase: false))
        #expect(tokenizer.tokenize("\u{E9}") == [4])
        #expect(tokenizer.tokenize("e\u{301}") == [5])
    }
}
