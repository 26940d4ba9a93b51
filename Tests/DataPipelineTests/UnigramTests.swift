import Foundation
import Testing
@testable import DataPipeline

/// The SentencePiece Unigram tokenizer (DeBERTa-v3 layout) against transformers'
/// `DebertaV2Tokenizer` (tokenizers-backed, the 4.x `DebertaV2TokenizerFast`), through both
/// loading paths: the fixture's tokenizer.json, and its spm.model alone. Goldens and fixture
/// come from scripts/make_unigram_goldens.py.
@Suite("Unigram (DeBERTa-v3)")
struct UnigramTests {
    static let fixture = Fixtures.directory.appendingPathComponent("deberta-unigram")

    enum Path: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case tokenizerJSON, spmModelOnly
        var testDescription: String { rawValue }
    }

    /// A temporary directory holding copies of `files` from the fixture (removed by the caller).
    static func copy(_ files: [String]) throws -> URL {
        let directory = URL(fileURLWithPath: try TestPaths.temporaryDirectory())
        for name in files {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        return directory
    }

    static func load(_ path: Path) throws -> Tokenizer {
        switch path {
        case .tokenizerJSON:
            let tokenizer = try Tokenizer.load(directory: fixture)
            #expect(tokenizer.source?.lastPathComponent == "tokenizer.json")
            return tokenizer
        case .spmModelOnly:
            let directory = try copy(["spm.model"])
            defer { try? FileManager.default.removeItem(at: directory) }
            let tokenizer = try Tokenizer.load(directory: directory)
            #expect(tokenizer.source?.lastPathComponent == "spm.model")
            return tokenizer
        }
    }

    @Test("special token ids and vocabulary size", arguments: Path.allCases)
    func specials(path: Path) throws {
        let tokenizer = try Self.load(path)
        #expect(tokenizer.kind == .unigram)
        #expect(tokenizer.specialTokenIDs == SpecialTokenIDs(pad: 0, cls: 1, sep: 2, unk: 3, mask: 3000))
        #expect(tokenizer.vocabSize == 3001)
        #expect(tokenizer.id(forToken: "▁the") != nil)
        #expect(tokenizer.specialTokenCount(pair: true) == 3)
    }

    @Test("GLUE rows match Hugging Face", arguments: Path.allCases)
    func glue(path: Path) throws {
        let tokenizer = try Self.load(path)
        let sections = try GoldenSection.read(Fixtures.goldens.appendingPathComponent("glue-deberta-unigram.txt"))
        #expect(sections.count >= 10)
        var checked = 0
        var pairs = 0
        var seconds = 0.0
        for section in sections {
            // Train sets are stored as hashes and checked through tokenizer.json only.
            if section["mode"] != "ids" && path == .spmModelOnly { continue }
            let task = try #require(section["task"]), split = try #require(section["split"])
            let columns = try #require(section["columns"]).split(separator: ",").map { Int($0)! }
            let maxLength = try #require(Int(section["max_length"] ?? ""))
            let rows = try Fixtures.tsvRows(task: task, split: split, header: section["header"] == "1")
            try #require(rows.count == section.rows.count)
            let first = rows.map { $0[columns[0]] }
            let start = Date()
            let encodings = columns.count == 2
                ? tokenizer.encodeBatch(first, rows.map { $0[columns[1]] }, maxLength: maxLength, threads: 2)
                : tokenizer.encodeBatch(first, maxLength: maxLength, threads: 2)
            if columns.count == 2 && split == "dev" {
                seconds += Date().timeIntervalSince(start)
                pairs += rows.count
            }
            var mismatches: [String] = []
            for (index, (encoding, golden)) in zip(encodings, section.rows).enumerated() {
                if section["mode"] == "ids" {
                    let expected = try GoldenSection.encoding(golden)
                    if encoding != expected && mismatches.count < 5 {
                        mismatches.append("row \(index): expected \(expected.inputIDs) k=\(expected.tokenTypeIDs.filter { $0 == 0 }.count)\n   got \(encoding.inputIDs) k=\(encoding.tokenTypeIDs.filter { $0 == 0 }.count)")
                    }
                } else if !(typeIDsAreZerosThenOnes(encoding) && goldenHash(encoding) == golden) && mismatches.count < 5 {
                    mismatches.append("row \(index): hash \(goldenHash(encoding)) != \(golden); got \(encoding.inputIDs)")
                }
                #expect(encoding.count <= maxLength)
            }
            #expect(mismatches.isEmpty, "\(path) \(task)/\(split) max_length \(maxLength):\n\(mismatches.joined(separator: "\n"))")
            checked += rows.count
        }
        #expect(checked > 4_000)
        print("UNIGRAM \(path): \(checked) GLUE rows match; dev pairs (first pass, cold cache, debug build unless -c release): "
              + "\(pairs) in \(String(format: "%.3f", seconds)) s = \(Int(Double(pairs) / max(seconds, 1e-9))) pairs/s")
    }

    /// Every code point of planes 0-2 (plus tags, variation selectors, private-use samples) in
    /// blocks of 256, against hashes of Hugging Face's ids: charsmap, grapheme clusters,
    /// whitespace, unknown characters. Through tokenizer.json only (both paths share the pipeline).
    @Test("Unicode sweep matches Hugging Face")
    func sweep() throws {
        try UnicodeSweepTests.check(try Self.load(.tokenizerJSON), golden: "unigram-sweep.txt", section: "deberta-unigram",
                                    label: "deberta-unigram")
    }

    struct TortureCase {
        var a: String
        var b: String?
        var expected: [String: (ids: [Int32], k: Int)]
        var byteFallback: [Int32]?
        /// Ids from the tokenizer.json variants (see `variant`), by name.
        var variants: [String: [Int32]]
    }

    static func tortureCases() throws -> [TortureCase] {
        let data = try Data(contentsOf: Fixtures.goldens.appendingPathComponent("unigram-torture.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(root["cases"] as? [[String: Any]]).map { entry in
            let byLength = try #require(entry["ids"] as? [String: [String: Any]])
            let expected = try byLength.mapValues { result in
                (try #require(result["ids"] as? [Int]).map { Int32($0) }, try #require(result["k"] as? Int))
            }
            return TortureCase(a: try #require(entry["a"] as? String), b: entry["b"] as? String, expected: expected,
                               byteFallback: (entry["byte_fallback"] as? [Int])?.map { Int32($0) },
                               variants: Dictionary(uniqueKeysWithValues: ["variant", "converter"].compactMap { name in
                                   (entry[name] as? [Int]).map { (name, $0.map { Int32($0) }) }
                               }))
        }
    }

    @Test("Unicode torture strings and pairs match Hugging Face", arguments: Path.allCases)
    func torture(path: Path) throws {
        let tokenizer = try Self.load(path)
        var session = tokenizer.makeSession()
        let cases = try Self.tortureCases()
        #expect(cases.count >= 40)
        for testCase in cases {
            for (lengthKey, golden) in testCase.expected {
                let maxLength = Int(lengthKey)! == 0 ? nil : Int(lengthKey)!
                let encoding = testCase.b.map { session.encode(testCase.a, $0, maxLength: maxLength) }
                    ?? session.encode(testCase.a, maxLength: maxLength)
                let expected = Encoding(inputIDs: golden.ids, tokenTypeIDs: (0..<golden.ids.count).map { $0 < golden.k ? 0 : 1 })
                #expect(encoding == expected, "\(path) max_length \(lengthKey): \(testCase.a.debugDescription) / \(testCase.b?.debugDescription ?? "-")")
            }
        }
    }

    @Test("byte fallback (tokenizer.json with byte_fallback true)")
    func byteFallback() throws {
        let directory = try Self.copy([])
        defer { try? FileManager.default.removeItem(at: directory) }
        var text = try String(contentsOf: Self.fixture.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        let flag = try #require(text.range(of: "\"byte_fallback\":false") ?? text.range(of: "\"byte_fallback\": false"))
        text.replaceSubrange(flag, with: "\"byte_fallback\": true")
        try text.write(to: directory.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        let tokenizer = try Tokenizer.load(directory: directory)
        var checked = 0
        var usedBytes = false
        for testCase in try Self.tortureCases() {
            guard let expected = testCase.byteFallback else { continue }
            let ids = tokenizer.encode(testCase.a).inputIDs
            #expect(ids == expected, "\(testCase.a.debugDescription)")
            usedBytes = usedBytes || expected.contains { (4..<260).contains($0) }
            checked += 1
        }
        #expect(checked >= 30)
        #expect(usedBytes)
    }

    /// Other pipelines over the same model, spliced into tokenizer.json: "variant" has normalizers
    /// transformers' DeBERTa path does not emit (Lowercase, Strip both sides, literal Replace of
    /// `` and '') and prepend_scheme "first"; "converter" is what transformers 4 saved for
    /// DeBERTa-v2/v3 (DebertaV2Converter: Strip both, charsmap, space runs, Metaspace "always").
    @Test("other tokenizer.json pipelines over the same model", arguments: ["variant", "converter"])
    func variant(name: String) throws {
        let data = try Data(contentsOf: Fixtures.goldens.appendingPathComponent("unigram-torture.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var members = try #require(root["\(name)_members"] as? String)
        var text = try String(contentsOf: Self.fixture.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        let key = try #require(text.range(of: "\"precompiled_charsmap\": \""))
        let close = try #require(text.range(of: "\"", range: key.upperBound..<text.endIndex))
        members = members.replacingOccurrences(of: "CHARSMAP", with: String(text[key.upperBound..<close.lowerBound]))
        let from = try #require(text.range(of: "\"normalizer\":"))
        let to = try #require(text.range(of: "\"post_processor\":"))
        text.replaceSubrange(from.lowerBound..<to.lowerBound, with: members)
        let directory = try Self.copy([])
        defer { try? FileManager.default.removeItem(at: directory) }
        try text.write(to: directory.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        let tokenizer = try Tokenizer.load(directory: directory)
        var checked = 0
        for testCase in try Self.tortureCases() {
            guard let expected = testCase.variants[name] else { continue }
            #expect(tokenizer.encode(testCase.a).inputIDs == expected, "\(name): \(testCase.a.debugDescription)")
            checked += 1
        }
        #expect(checked >= 30)
    }

    @Test("pair layout and longest_first truncation")
    func pairs() throws {
        let tokenizer = try Self.load(.tokenizerJSON)
        let a = tokenizer.tokenize("the first sentence is a little longer than the second")
        let b = tokenizer.tokenize("second one")
        #expect(!a.isEmpty && !b.isEmpty && a.count > b.count)
        let full = tokenizer.encode("the first sentence is a little longer than the second", "second one")
        #expect(full.inputIDs == [1] + a + [2] + b + [2])
        #expect(full.tokenTypeIDs == [Int32](repeating: 0, count: a.count + 2) + [Int32](repeating: 1, count: b.count + 1))
        let single = tokenizer.encode("second one")
        #expect(single.inputIDs == [1] + b + [2] && single.tokenTypeIDs.allSatisfy { $0 == 0 })
        // longest_first: the longer sequence loses tokens first.
        let budget = b.count + 4
        let cut = tokenizer.encode("the first sentence is a little longer than the second", "second one", maxLength: budget + 3)
        #expect(cut.inputIDs == [1] + a.prefix(4) + [2] + b + [2])
        // Both longer than half the budget: half each, the odd token to the second.
        let both = tokenizer.encode("the first sentence is a little longer than the second",
                                    "and the second sentence is now about as long as the first one", maxLength: 10)
        #expect(both.count == 10)
        #expect(both.tokenTypeIDs == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
        // Special tokens in the text are matched literally.
        #expect(tokenizer.tokenize("[MASK]") == [3000])
        #expect(tokenizer.tokenize("x[SEP]").last == 2)
    }

    @Test("the fixture directory read as vocabulary files: spm.model with its tokenizer_config.json")
    func vocabularyFilesFormat() throws {
        let files = try Tokenizer.load(directory: Self.fixture, format: .vocabularyFiles)
        let json = try Self.load(.tokenizerJSON)
        #expect(files.source?.lastPathComponent == "spm.model" && files.kind == .unigram)
        #expect(files.specialTokenIDs == json.specialTokenIDs && files.vocabSize == json.vocabSize)
        for (a, b) in [("Héllo ``world'' ｆｕｌｌ", "[MASK] 😀 x"), ("  two  spaces  ", "\ttab\nline")] {
            #expect(files.encode(a, b, maxLength: 16) == json.encode(a, b, maxLength: 16))
        }
    }

    @Test("added_tokens.json and tokenizer_config.json beside spm.model")
    func configFiles() throws {
        let directory = try Self.copy(["spm.model"])
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"{"[MASK]": 3005}"#.utf8).write(to: directory.appendingPathComponent("added_tokens.json"))
        try Data(#"{"do_lower_case": true}"#.utf8).write(to: directory.appendingPathComponent("tokenizer_config.json"))
        let tokenizer = try Tokenizer.load(directory: directory)
        #expect(tokenizer.specialTokenIDs.mask == 3005)
        #expect(tokenizer.vocabSize == 3006)
        #expect(tokenizer.tokenize("a [MASK] b").contains(3005))
        let reference = try Self.load(.tokenizerJSON)
        #expect(tokenizer.tokenize("HELLO World") == reference.tokenize("hello world"))
        try Data(#"{"split_by_punct": true}"#.utf8).write(to: directory.appendingPathComponent("tokenizer_config.json"))
        #expect(throws: TokenizerError.self) { try Tokenizer.load(directory: directory) }
    }

    @Test("a BPE SentencePiece model is refused naming the field")
    func bpeModelRefused() throws {
        let directory = try Self.copy([])
        defer { try? FileManager.default.removeItem(at: directory) }
        // pieces { piece: "a" score: 0 } trainer_spec { model_type: BPE }
        let bytes: [UInt8] = [0x0A, 0x08, 0x0A, 0x01, 0x61, 0x15, 0, 0, 0, 0, 0x12, 0x02, 0x18, 0x02]
        try Data(bytes).write(to: directory.appendingPathComponent("spm.model"))
        do {
            _ = try Tokenizer.load(directory: directory)
            Issue.record("a BPE model loaded")
        } catch let error as TokenizerError {
            guard case .unsupported(let url, let feature) = error else { Issue.record("\(error)"); return }
            #expect(url.lastPathComponent == "spm.model")
            #expect(feature.contains("trainer_spec.model_type BPE"))
        }
    }

    @Test("truncated or corrupted spm.model gives a clear error")
    func corruptedModel() throws {
        let original = [UInt8](try Data(contentsOf: Self.fixture.appendingPathComponent("spm.model")))
        let directory = try Self.copy([])
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("spm.model")
        var corrupt = original
        corrupt[0] = 0x0B  // field 1 with wire type 3 (start group)
        for bytes in [Array(original[..<(original.count / 2)]), Array(original[..<7]), corrupt, [0xFF]] {
            try Data(bytes).write(to: url)
            do {
                _ = try Tokenizer.load(directory: directory)
                Issue.record("corrupted spm.model (\(bytes.count) bytes) loaded")
            } catch let error as TokenizerError {
                guard case .malformedFile(let file, let reason) = error else { Issue.record("\(error)"); continue }
                #expect(file.lastPathComponent == "spm.model")
                #expect(reason.contains("protobuf"), "\(reason)")
            }
        }
    }
}

@Suite("Protobuf reader")
struct ProtobufReaderTests {
    @Test("varints, fixed32, strings and nested messages")
    func decodes() throws {
        // field 1 varint 150; field 2 string "hi"; field 3 fixed32 1.5f; field 4 varint -1 (10 bytes)
        let bytes: [UInt8] = [0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69, 0x1D, 0x00, 0x00, 0xC0, 0x3F,
                              0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        var reader = ProtobufReader(bytes)
        var tag = try #require(try reader.readTag())
        #expect(tag.field == 1 && tag.wireType == .varint)
        #expect(try reader.readVarint() == 150)
        tag = try #require(try reader.readTag())
        #expect(try reader.string(tag.wireType, field: "s") == "hi")
        tag = try #require(try reader.readTag())
        #expect(try reader.float(tag.wireType, field: "f") == 1.5)
        tag = try #require(try reader.readTag())
        #expect(try reader.int32(tag.wireType, field: "i") == -1)
        #expect(try reader.readTag() == nil)
    }

    @Test("a SentencePiece ModelProto built by hand")
    func modelProto() throws {
        func field(_ number: UInt8, _ payload: [UInt8]) -> [UInt8] { [number << 3 | 2, UInt8(payload.count)] + payload }
        let scoreBits = Float(-2.5).bitPattern
        let score: [UInt8] = [0x15] + (0..<4).map { UInt8(truncatingIfNeeded: scoreBits >> (8 * $0)) }
        let pieceMessage = field(1, Array("▁a".utf8)) + score + [0x18, 0x01]
        let unknown = field(1, Array("<unk>".utf8)) + [0x18, 0x02]
        let trainer: [UInt8] = [0x18, 0x01, 0x98, 0x02, 0x01, 0xC0, 0x02, 0x01]  // model_type 1, byte_fallback (35), unk_id (40) 1
        let normalizer = field(1, Array("nmt_nfkc".utf8)) + [0x18, 0x00]  // add_dummy_prefix false
        let bytes = field(1, pieceMessage) + field(1, unknown) + field(2, trainer) + field(3, normalizer)
            + [0x28, 0x07]  // an unknown varint field, skipped
        let model = try SentencePieceModel(protobuf: bytes)
        #expect(model.pieces == [.init(piece: "▁a", score: -2.5, type: 1), .init(piece: "<unk>", score: 0, type: 2)])
        #expect(model.modelType == 1 && model.byteFallback && model.unkID == 1)
        #expect(model.normalizerName == "nmt_nfkc" && !model.addDummyPrefix && model.escapeWhitespaces)
    }

    @Test("truncated input and wrong wire types throw clear errors")
    func errors() throws {
        // Truncated varint.
        #expect(throws: ProtobufError.truncated(what: "varint", offset: 1)) {
            var reader = ProtobufReader([0x08, 0x96])
            _ = try reader.readTag()
            _ = try reader.readVarint()
        }
        // Length past the end.
        #expect(throws: ProtobufError.truncated(what: "length-delimited field of 5 bytes", offset: 1)) {
            _ = try SentencePieceModel(protobuf: [0x0A, 0x05, 0x01])
        }
        // pieces (field 1) as a varint instead of a message.
        #expect(throws: ProtobufError.wrongWireType(field: "pieces", expected: "length-delimited", got: "varint", offset: 1)) {
            _ = try SentencePieceModel(protobuf: [0x08, 0x01])
        }
        // score as a varint instead of fixed32.
        #expect(throws: ProtobufError.wrongWireType(field: "pieces[0].score", expected: "32-bit", got: "varint", offset: 3)) {
            _ = try SentencePieceModel(protobuf: [0x0A, 0x02, 0x10, 0x01])
        }
        // Wire type 7 does not exist; groups are not supported.
        #expect(throws: ProtobufError.unsupportedWireType(7, offset: 0)) { _ = try SentencePieceModel(protobuf: [0x0F]) }
        #expect(throws: ProtobufError.unsupportedWireType(3, offset: 1)) { _ = try SentencePieceModel(protobuf: [0x2B]) }
        // An over-long varint.
        #expect(throws: ProtobufError.malformedVarint(offset: 1)) {
            _ = try SentencePieceModel(protobuf: [0x20] + [UInt8](repeating: 0xFF, count: 10) + [0x01])
        }
        // Invalid UTF-8 in a piece.
        #expect(throws: ProtobufError.invalidUTF8(field: "pieces[0].piece", offset: 3)) {
            _ = try SentencePieceModel(protobuf: [0x0A, 0x03, 0x0A, 0x01, 0xFF])
        }
        #expect(ProtobufError.truncated(what: "varint", offset: 1).description.contains("truncated"))
    }
}

@Suite("Precompiled charsmap")
struct PrecompiledNormalizerTests {
    static func fixtureCharsmap() throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: UnigramTests.fixture.appendingPathComponent("spm.model")))
        return try SentencePieceModel(protobuf: bytes).precompiledCharsmap
    }

    func normalize(_ normalizer: PrecompiledNormalizer, _ text: String) -> String {
        var out: [UInt8] = []
        var text = text
        text.withUTF8 { normalizer.normalize($0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test("nmt_nfkc folds full-width, ligatures and spaces")
    func folds() throws {
        let normalizer = try PrecompiledNormalizer(charsmap: try Self.fixtureCharsmap())
        #expect(normalize(normalizer, "ｆｕｌｌ") == "full")
        #expect(normalize(normalizer, "ﬁ") == "fi")
        #expect(normalize(normalizer, "a\u{00A0}b\u{3000}c") == "a b c")
        #expect(normalize(normalizer, "plain ascii") == "plain ascii")
        #expect(normalize(normalizer, "e\u{0301}") == "é")
    }

    @Test("corrupted or truncated charsmaps throw")
    func corrupted() throws {
        let good = try Self.fixtureCharsmap()
        #expect(throws: PrecompiledNormalizer.ParseError.tooShort(3)) { _ = try PrecompiledNormalizer(charsmap: [1, 2, 3]) }
        #expect(throws: PrecompiledNormalizer.ParseError.emptyTrie) { _ = try PrecompiledNormalizer(charsmap: [0, 0, 0, 0]) }
        let truncated = Array(good[..<1000])
        #expect(throws: PrecompiledNormalizer.ParseError.self) { _ = try PrecompiledNormalizer(charsmap: truncated) }
        var badUTF8 = good
        badUTF8[badUTF8.count - 2] = 0xFF
        #expect(throws: PrecompiledNormalizer.ParseError.replacementsNotUTF8) { _ = try PrecompiledNormalizer(charsmap: badUTF8) }
        // A trie of garbage units must not crash lookups.
        var garbage: [UInt8] = [16, 0, 0, 0]
        for k in 0..<16 { garbage.append(UInt8(truncatingIfNeeded: k &* 97 &+ 13)) }
        garbage += Array("x\0".utf8)
        let normalizer = try PrecompiledNormalizer(charsmap: garbage)
        _ = normalize(normalizer, "any text ｆ é 😀")
    }

    @Test("a corrupted charsmap in tokenizer.json is a clear load error")
    func corruptedInTokenizerJSON() throws {
        let directory = try UnigramTests.copy(["tokenizer_config.json"])
        defer { try? FileManager.default.removeItem(at: directory) }
        var text = try String(contentsOf: UnigramTests.fixture.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        let key = try #require(text.range(of: "\"precompiled_charsmap\":"))
        let open = try #require(text.range(of: "\"", range: key.upperBound..<text.endIndex))
        let close = try #require(text.range(of: "\"", range: open.upperBound..<text.endIndex))
        text.replaceSubrange(open.upperBound..<close.lowerBound, with: "AAEAAA==")  // declares a 256-byte trie, has 0
        try text.write(to: directory.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        do {
            _ = try Tokenizer.load(directory: directory)
            Issue.record("a corrupted charsmap loaded")
        } catch let error as TokenizerError {
            guard case .malformedFile(let file, let reason) = error else { Issue.record("\(error)"); return }
            #expect(file.lastPathComponent == "tokenizer.json")
            #expect(reason.contains("precompiled_charsmap"), "\(reason)")
        }
    }
}
