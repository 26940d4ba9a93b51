import Foundation
import Testing
@testable import DataPipeline

/// Every code point of planes 0-2 (plus tags, variation selectors and samples of the
/// private-use planes) through both tokenizers, in blocks of 256, against hashes of
/// Hugging Face's ids. Catches any character-class difference (control, whitespace,
/// punctuation, CJK, accents, case, letters/numbers for the GPT-2 pattern).
@Suite("Unicode sweep")
struct UnicodeSweepTests {
    /// Same construction as `sweep_text` in scripts/make_tokenizer_goldens.py.
    static func sweepText(_ lo: UInt32, _ hi: UInt32) -> String {
        var view = String.UnicodeScalarView()
        let ascii = { (s: String) in Unicode.Scalar(s)! }
        for cp in lo...hi {
            guard let c = Unicode.Scalar(cp) else { continue }
            view.append(contentsOf: [ascii("x"), c, ascii("y"), ascii(" "), c, c, ascii("1"), c, ascii("!"), c, ascii(" ")])
        }
        return String(view)
    }

    /// The two loading paths share the whole pipeline (the GLUE and edge-case goldens check
    /// them against each other), so the sweep runs once per tokenizer to keep debug test time down.
    @Test("all code points match Hugging Face", arguments: [Fixtures.Source.minilmJSON, .robertaJSON])
    func sweep(source: Fixtures.Source) throws {
        try Self.check(try Fixtures.tokenizer(source), golden: "unicode-sweep.txt", section: source.goldenName, label: "\(source)")
    }

    /// Tokenizes every block of the golden file's ranges and compares the hashes of the ids with
    /// the golden's `section` (one tokenizer's hashes).
    static func check(_ tokenizer: Tokenizer, golden: String, section name: String, label: String) throws {
        let sections = try GoldenSection.read(Fixtures.goldens.appendingPathComponent(golden))
        let block = try #require(UInt32(sections.first?["block"] ?? ""))
        let ranges = try #require(sections.first?["ranges"]).split(separator: ",").map { range in
            let bounds = range.split(separator: "-").map { UInt32($0, radix: 16)! }
            return (bounds[0], bounds[1])
        }
        let section = try #require(sections.first { $0["tokenizer"] == name })
        var expected: [UInt32: Substring] = [:]
        for row in section.rows {
            let parts = row.split(separator: " ")
            expected[UInt32(parts[0], radix: 16)!] = parts[1]
        }
        var starts: [(UInt32, UInt32)] = []
        for (lo0, hi0) in ranges {
            for lo in stride(from: lo0, through: hi0, by: Int(block)) { starts.append((lo, min(lo + block - 1, hi0))) }
        }
        #expect(starts.count == expected.count)
        let hashes = tokenizer.parallelMap(count: starts.count, threads: 2) { session, i -> String in
            let ids = session.tokenize(Self.sweepText(starts[i].0, starts[i].1))
            return goldenHash(Encoding(inputIDs: ids, tokenTypeIDs: [Int32](repeating: 0, count: ids.count)), k: 0)
        }
        let failures = zip(starts, hashes).filter { expected[$0.0.0].map(String.init) != $0.1 }.map { String($0.0.0, radix: 16) }
        #expect(failures.isEmpty, "\(label): blocks differing from Hugging Face: \(failures.count): \(failures.prefix(40))")
    }
}

@Suite("Character class tables")
struct CharacterClassTableTests {
    @Test("range tables are sorted, disjoint inclusive ranges")
    func sorted() {
        let tables = [UnicodeTables.other, UnicodeTables.whitespace, UnicodeTables.punctuation,
                      UnicodeTables.nonspacingMark, UnicodeTables.letter, UnicodeTables.number,
                      CharacterClasses.chineseRanges]
        for table in tables {
            #expect(table.count % 2 == 0)
            for i in stride(from: 0, to: table.count, by: 2) {
                #expect(table[i] <= table[i + 1])
                if i >= 2 { #expect(table[i - 1] < table[i]) }
            }
        }
    }

    @Test("spot checks")
    func spotChecks() {
        #expect(CharacterClasses.classes(of: 0x20) == .whitespace)
        #expect(CharacterClasses.classes(of: 0x21) == .punctuation)
        #expect(CharacterClasses.classes(of: 0x41) == .letter)
        #expect(CharacterClasses.classes(of: 0x301) == .nonspacingMark)
        #expect(CharacterClasses.classes(of: 0x2B920).contains(.chinese))
        #expect(CharacterClasses.classes(of: 0xF900).contains(.chinese))
        #expect(CharacterClasses.classes(of: 0x1F917).isEmpty)  // 🤗: So, nothing special
        #expect(CharacterClasses.classes(of: 0xE0001).contains(.other))
    }
}
