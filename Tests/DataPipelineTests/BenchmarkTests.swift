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
}
