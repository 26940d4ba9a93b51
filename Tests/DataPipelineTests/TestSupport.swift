import Foundation
import Testing
@testable import DataPipeline

/// Paths, fixture loading and golden-file parsing shared by the tokenizer tests.
enum Fixtures {
    /// The package root, derived from this file's location (Tests/DataPipelineTests/…).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = packageRoot.appendingPathComponent("Tests/DataPipelineTests/Fixtures")
    static let minilm = directory.appendingPathComponent("minilm")
    static let robertaBPE = directory.appendingPathComponent("roberta-bpe")
    static let goldens = directory.appendingPathComponent("goldens")
    /// The GLUE files the repository ships: <package root>/datasets/glue.
    static let glue = packageRoot.appendingPathComponent("datasets/glue")

    /// The two reference tokenizers, each loaded through both file formats.
    enum Source: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case minilmJSON, minilmVocabTxt, robertaJSON, robertaVocabFiles

        var goldenName: String {
            switch self {
            case .minilmJSON, .minilmVocabTxt: return "minilm"
            case .robertaJSON, .robertaVocabFiles: return "roberta-bpe"
            }
        }

        var testDescription: String { rawValue }
    }

    private static let loaded: [Source: Tokenizer] = {
        var result: [Source: Tokenizer] = [:]
        for source in Source.allCases {
            do {
                switch source {
                case .minilmJSON: result[source] = try Tokenizer.load(directory: minilm)
                case .minilmVocabTxt: result[source] = try Tokenizer.load(directory: minilm, format: .vocabularyFiles)
                case .robertaJSON: result[source] = try Tokenizer.load(directory: robertaBPE)
                case .robertaVocabFiles: result[source] = try Tokenizer.load(directory: robertaBPE, format: .vocabularyFiles)
                }
            } catch {
                Issue.record("loading \(source): \(error)")
            }
        }
        return result
    }()

    static func tokenizer(_ source: Source) throws -> Tokenizer {
        try #require(loaded[source], "tokenizer \(source) failed to load")
    }

    /// Rows of a GLUE TSV as fields, split exactly like the goldens script: bytes split at
    /// "\n" and "\t" (never at "\r", U+2028 or U+0085), UTF-8 BOM dropped.
    static func tsvRows(task: String, split: String, header: Bool) throws -> [[String]] {
        let url = glue.appendingPathComponent("\(task)/\(split).tsv")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FixtureError("GLUE data not found at \(url.path); it ships with the repository (datasets/glue/SOURCES.md)")
        }
        var bytes = [UInt8](try Data(contentsOf: url))
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        if header { lines.removeFirst() }
        return lines.map { line in
            line.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One section of a golden text file (see scripts/make_tokenizer_goldens.py).
struct GoldenSection {
    var fields: [String: String]
    var rows: [Substring]

    subscript(_ key: String) -> String? { fields[key] }

    /// Parses a golden file into its sections.
    static func read(_ url: URL) throws -> [GoldenSection] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var sections: [GoldenSection] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if line.hasPrefix("@") {
                var fields: [String: String] = [:]
                for item in line.dropFirst().split(separator: " ") {
                    let kv = item.split(separator: "=", maxSplits: 1)
                    if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
                }
                sections.append(GoldenSection(fields: fields, rows: []))
            } else {
                guard !sections.isEmpty else { throw FixtureError("\(url.lastPathComponent): row before any section") }
                sections[sections.count - 1].rows.append(line)
            }
        }
        return sections
    }

    /// An `ids` row: "K:id id id ..." → the encoding it stands for.
    static func encoding(_ row: Substring) throws -> Encoding {
        let parts = row.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]) else { throw FixtureError("bad golden row \(row.prefix(40))") }
        let ids = try parts[1].split(separator: " ").map { s -> Int32 in
            guard let id = Int32(s) else { throw FixtureError("bad id \(s)") }
            return id
        }
        return Encoding(inputIDs: ids, tokenTypeIDs: (0..<ids.count).map { $0 < k ? 0 : 1 })
    }
}

/// FNV-1a 32 over the ids (int32 little-endian), then `k`: by default the count of
/// leading type id 0s (GLUE goldens); the Unicode sweep uses k = 0.
func goldenHash(_ encoding: Encoding, k: Int? = nil) -> String {
    var h: UInt32 = 0x811C_9DC5
    func mix(_ v: Int32) {
        withUnsafeBytes(of: v.littleEndian) { for b in $0 { h = (h ^ UInt32(b)) &* 0x0100_0193 } }
    }
    for id in encoding.inputIDs { mix(id) }
    mix(Int32(k ?? encoding.tokenTypeIDs.prefix(while: { $0 == 0 }).count))
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 8 - hex.count) + hex
}

/// True if the type ids are 0…0 1…1 (the form the goldens store).
func typeIDsAreZerosThenOnes(_ encoding: Encoding) -> Bool {
    let k = encoding.tokenTypeIDs.prefix(while: { $0 == 0 }).count
    return encoding.tokenTypeIDs.dropFirst(k).allSatisfy { $0 == 1 }
}
