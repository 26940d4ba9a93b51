import Foundation
import Testing
@testable import DataPipeline

/// Every GLUE row listed in the goldens (RTE, STS-B, CoLA, SST-2; dev as ids, train as
/// hashes) must encode exactly as Hugging Face did: same input ids, same token type ids.
/// The sentences come from the shipped datasets/glue at test time; the goldens hold only ids.
@Suite("GLUE goldens")
struct GLUEGoldenTests {
    @Test("ids and token type ids match Hugging Face on every row", arguments: Fixtures.Source.allCases)
    func glueRows(source: Fixtures.Source) throws {
        let tokenizer = try Fixtures.tokenizer(source)
        let sections = try GoldenSection.read(Fixtures.goldens.appendingPathComponent("glue-\(source.goldenName).txt"))
        #expect(sections.count >= 10)
        var checkedRows = 0
        for section in sections {
            // Hash sections (train sets, ~84k rows) run once per tokenizer, through tokenizer.json;
            // the vocabulary-file paths are checked on every dev row.
            if section["mode"] != "ids" && (source == .minilmVocabTxt || source == .robertaVocabFiles) { continue }
            let task = try #require(section["task"]), split = try #require(section["split"])
            let columns = try #require(section["columns"]).split(separator: ",").map { Int($0)! }
            let maxLength = try #require(Int(section["max_length"] ?? ""))
            let rows = try Fixtures.tsvRows(task: task, split: split, header: section["header"] == "1")
            try #require(rows.count == section.rows.count, "\(task)/\(split): \(rows.count) TSV rows, \(section.rows.count) golden rows")

            let first = rows.map { $0[columns[0]] }
            let encodings = columns.count == 2
                ? tokenizer.encodeBatch(first, rows.map { $0[columns[1]] }, maxLength: maxLength, threads: 2)
                : tokenizer.encodeBatch(first, maxLength: maxLength, threads: 2)

            var mismatches: [String] = []
            for (index, (encoding, golden)) in zip(encodings, section.rows).enumerated() {
                let ok: Bool
                if section["mode"] == "ids" {
                    let expected = try GoldenSection.encoding(golden)
                    ok = encoding == expected
                    if !ok && mismatches.count < 5 {
                        mismatches.append("row \(index): expected \(expected.inputIDs) types \(expected.tokenTypeIDs)\n   got \(encoding.inputIDs) types \(encoding.tokenTypeIDs)")
                    }
                } else {
                    ok = typeIDsAreZerosThenOnes(encoding) && goldenHash(encoding) == golden
                    if !ok && mismatches.count < 5 {
                        mismatches.append("row \(index): hash \(goldenHash(encoding)) != \(golden); got \(encoding.inputIDs)")
                    }
                }
                if !ok && mismatches.count >= 5 { break }
                #expect(encoding.count <= maxLength)
                if tokenizer.kind == .byteLevelBPE { #expect(encoding.tokenTypeIDs.allSatisfy { $0 == 0 }) }
            }
            #expect(mismatches.isEmpty, "\(source) \(task)/\(split) max_length \(maxLength):\n\(mismatches.joined(separator: "\n"))")
            checkedRows += rows.count
        }
        #expect(checkedRows > 4_000)
    }
}
