import Testing
import Foundation
@testable import DataPipeline

/// `dcft prepare` at scale: the line reader, the streaming GLUE reader and the shard-by-shard
/// writer, against the in-memory path and against the bad inputs of a large file.
@Suite("Streaming prepare and bad large-task input")
struct StreamingPrepareTests {
    let tokenizer: Tokenizer
    init() throws { tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: TestPaths.fixtures + "/minilm")) }

    static let mnliHeader = "index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label\n"
    static func mnliRow(_ i: Int, _ a: String, _ b: String, _ label: String) -> String {
        "\(i)\t\(i)\t\(i)e\tfiction\t()\t()\t()\t()\t\(a)\t\(b)\t\(label)\t\(label)\n"
    }

    @Test("lines across chunk boundaries, CRLF, a byte-order mark and a last line without newline read as written")
    func lineReader() throws {
        let path = try TestPaths.temporaryDirectory() + "/lines.txt"
        let long = String(repeating: "x", count: 10_000)            // spans 4 KiB chunks
        let lines = ["first", long, "", "crlf", "é ü 中文", long + "y", "last"]
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        for (i, l) in lines.enumerated() { bytes += Array(l.utf8) + (i == 3 ? [13, 10] : i == lines.count - 1 ? [] : [10]) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var r = try LineReader(file: path, chunkBytes: 4096)
        var got: [String] = []
        while let l = try r.next() { got.append(l) }
        #expect(got == lines)
        #expect(r.lineNumber == lines.count)
        r.close()
    }

    @Test("a 10 MB line, invalid UTF-8, a missing column, an unknown label, an empty hypothesis and a truncated last row are named by file, line and field")
    func badRows() throws {
        let dir = try TestPaths.temporaryDirectory()
        func file(_ name: String, _ body: [UInt8]) throws -> String {
            let p = dir + "/" + name
            try Data(Array(Self.mnliHeader.utf8) + body).write(to: URL(fileURLWithPath: p))
            return p
        }
        let good = Array(Self.mnliRow(0, "A man sleeps.", "A man rests.", "entailment").utf8)
        let cases: [(String, [UInt8], Int, String)] = [
            ("huge.tsv", good + Array(Self.mnliRow(1, String(repeating: "w ", count: 5_000_000), "b", "neutral").utf8), 3,
             "line longer than 1048576 bytes — not a text row (corrupted file?)"),
            ("utf8.tsv", good + Array("1\t1\t1e\tfiction\t()\t()\t()\t()\tcaf".utf8) + [0xC3, 0x28] + Array("\tb\tneutral\tneutral\n".utf8), 3,
             "not valid UTF-8"),
            ("columns.tsv", good + Array("1\t1\t1e\tfiction\t()\t()\t()\t()\tonly a premise\n".utf8), 3,
             "expected at least 12 tab-separated columns, found 9"),
            ("label.tsv", good + Array(Self.mnliRow(1, "a", "b", "maybe").utf8), 3,
             "label \"maybe\" is not one of entailment, neutral, contradiction"),
            ("empty.tsv", good + Array(Self.mnliRow(1, "A premise.", " ", "neutral").utf8), 3,
             "empty text in column 10 (sentence2)"),
            ("truncated.tsv", good + Array(Self.mnliRow(1, "A premise.", "A hypothesis.", "neutral").utf8) + Array("2\t2\t2e\tfiction\t()\t()\t()\t()\tA prem".utf8), 4,
             "expected at least 12 tab-separated columns, found 9"),
        ]
        for (name, body, line, problem) in cases {
            let p = try file(name, body)
            #expect(throws: DataError(file: p, line: line, problem: problem), "\(name)") { try GLUEReader.read(task: .mnli, file: p) }
            let skipped = try GLUEReader.read(task: .mnli, file: p, skipBad: true)
            #expect(skipped.skipped.map(\.line) == [line], "\(name)")
            #expect(skipped.examples.count == (name == "truncated.tsv" ? 2 : 1), "\(name)")
        }
    }

    @Test("shard by shard equals all at once: the same examples, 7 rows per shard, counts recorded in every shard")
    func streamedEqualsInMemory() throws {
        let dir = try TestPaths.temporaryDirectory()
        let path = dir + "/train.tsv"
        let words = ["cat", "dog", "sat", "ran", "the", "mat", "far", "home", "not", "big"]
        var text = Self.mnliHeader
        for i in 0..<50 {
            let a = (0..<(3 + i % 9)).map { words[($0 * 7 + i) % words.count] }.joined(separator: " ")
            text += Self.mnliRow(i, a, String(a.dropFirst(4)), ["entailment", "neutral", "contradiction"][i % 3])
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let read = try GLUEReader.read(task: .mnli, file: path)
        func prepare(_ out: String, batches: (_ body: ([Example], [DataError]) throws -> Void) throws -> Void, shard: Int) throws -> DatasetPreparer.Report {
            try DatasetPreparer.prepare(batches: batches, sourceFile: path, task: "mnli", split: "train", labelNames: GLUETask.mnli.labelNames,
                                        numLabels: 3, isRegression: false, tokenizer: tokenizer, tokenizerSHA256: "t", maxLength: 32,
                                        outDirectory: out, shardExamples: shard, threads: 2)
        }
        let whole = try prepare(dir + "/whole", batches: { try $0(read.examples, read.skipped) }, shard: 1000)
        let streamed = try prepare(dir + "/streamed", batches: { body in
            try GLUEReader.forEachBatch(task: .mnli, file: path, batchSize: 5, body)
        }, shard: 7)
        #expect(whole.examples == 50 && streamed.examples == 50 && whole.tokens == streamed.tokens)
        let a = try TokenizedDataset(directory: dir + "/whole"), b = try TokenizedDataset(directory: dir + "/streamed")
        #expect(a.metadata.shardCount == 1 && b.metadata.shardCount == 8)
        #expect(a.labels == b.labels && a.lengths == b.lengths && b.metadata.numExamples == 50 && b.metadata.hasLabels)
        for i in 0..<50 { #expect(try a.example(i).inputIDs == b.example(i).inputIDs) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/streamed").sorted()
        #expect(names.first == "shard-00000-of-00008.h5" && names.count == 8)
    }

    @Test("a bad row in the last batch leaves neither a dataset nor a temporary directory, and the previous dataset untouched")
    func failureLeavesNothing() throws {
        let dir = try TestPaths.temporaryDirectory()
        let path = dir + "/train.tsv"
        var text = Self.mnliHeader
        for i in 0..<30 { text += Self.mnliRow(i, "the cat sat", "the cat", "entailment") }
        try (text + Self.mnliRow(30, "a", "b", "perhaps")).write(toFile: path, atomically: true, encoding: .utf8)
        try TokenizedDatasetWriter.write([.init(inputIDs: [101, 102], tokenTypeIDs: [0, 0], label: 1)],
                                         metadata: DatasetMetadata(task: "mnli", split: "train", tokenizerName: "x", tokenizerSHA256: "t",
                                                                   maxLength: 32, numLabels: 3, labelNames: GLUETask.mnli.labelNames,
                                                                   isRegression: false, hasLabels: true, numExamples: 1,
                                                                   sourceSHA256: "old", padTokenID: 0),
                                         to: dir + "/out")
        #expect(throws: DataError.self) {
            try DatasetPreparer.prepare(batches: { body in try GLUEReader.forEachBatch(task: .mnli, file: path, batchSize: 8, body) },
                                        sourceFile: path, task: "mnli", split: "train", labelNames: GLUETask.mnli.labelNames,
                                        numLabels: 3, isRegression: false, tokenizer: tokenizer, tokenizerSHA256: "t", maxLength: 32,
                                        outDirectory: dir + "/out", shardExamples: 4, threads: 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["out", "train.tsv"])
        let old = try TokenizedDataset(directory: dir + "/out")
        #expect(old.count == 1 && old.metadata.sourceSHA256 == "old")
    }
}
