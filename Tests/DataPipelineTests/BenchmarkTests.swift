import Foundation
import Testing
import DataPipeline

/// Throughput on SST-2 train (67,349 sentences). Off by default; run in release with
///
///     DATAPIPELINE_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing --filter BenchmarkTests
@Suite("Benchmark", .serialized, .enabled(if: ProcessInfo.processInfo.environment["DATAPIPELINE_BENCHMARK"] == "1"))
struct BenchmarkTests {
    @Test("SST-2 train tokens per second", arguments: [Fixtures.Source.minilmJSON, .robertaJSON])
    func sst2(source: Fixtures.Source) throws {
        let tokenizer = try Fixtures.tokenizer(source)
        let sentences = try Fixtures.tsvRows(task: "SST-2", split: "train", header: true).map { $0[0] }
        for threads in [1, 2] {
            var best = Double.infinity
            var tokens = 0
            for _ in 0..<3 {
                let start = Date()
                let encodings = tokenizer.encodeBatch(sentences, maxLength: 128, threads: threads)
                best = min(best, Date().timeIntervalSince(start))
                tokens = encodings.reduce(0) { $0 + $1.count }
            }
            print("BENCH \(source) threads=\(threads): \(sentences.count) sentences, \(tokens) tokens, "
                  + "\(String(format: "%.3f", best)) s, \(Int(Double(tokens) / best)) tokens/s")
        }
    }

    /// Sentence pairs per second on the GLUE dev pair sets (RTE, STS-B), max_length 128,
    /// each tokenizer on the same text. Each run makes fresh sessions, so the word caches start
    /// empty every time (as in `dcft prepare`); best of 5 runs.
    @Test("GLUE dev pairs per second (Unigram vs WordPiece vs BPE)")
    func devPairs() throws {
        var first: [String] = [], second: [String] = []
        for (task, a, b) in [("RTE", 1, 2), ("STS-B", 7, 8)] {
            for row in try Fixtures.tsvRows(task: task, split: "dev", header: true) {
                first.append(row[a])
                second.append(row[b])
            }
        }
        let tokenizers: [(String, Tokenizer)] = [
            ("unigram", try Tokenizer.load(directory: UnigramTests.fixture)),
            ("minilm", try Fixtures.tokenizer(.minilmJSON)), ("roberta-bpe", try Fixtures.tokenizer(.robertaJSON))]
        for (name, tokenizer) in tokenizers {
            for threads in [1, 2] {
                var best = Double.infinity
                for _ in 0..<5 {
                    let start = Date()
                    _ = tokenizer.encodeBatch(first, second, maxLength: 128, threads: threads)
                    best = min(best, Date().timeIntervalSince(start))
                }
                print("BENCH \(name) threads=\(threads): \(first.count) GLUE dev pairs (RTE, STS-B) in "
                      + "\(String(format: "%.4f", best)) s, \(Int(Double(first.count) / best)) pairs/s")
            }
        }
    }
}
