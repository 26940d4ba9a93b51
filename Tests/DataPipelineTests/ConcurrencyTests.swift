import Foundation
import Testing
@testable import DataPipeline

/// One tokenizer shared by many threads gives the same results as sequential encoding.
@Suite("Concurrency")
struct ConcurrencyTests {
    @Test("encodeBatch and concurrent sessions equal sequential encoding", arguments: [Fixtures.Source.minilmJSON, .robertaJSON])
    func batch(source: Fixtures.Source) async throws {
        let tokenizer = try Fixtures.tokenizer(source)
        let rows = try Fixtures.tsvRows(task: "RTE", split: "dev", header: true)
        let first = rows.map { $0[1] }, second = rows.map { $0[2] }
        let sequential = zip(first, second).map { tokenizer.encode($0, $1, maxLength: 64) }
        for threads in [1, 2, 3, 8] {
            #expect(tokenizer.encodeBatch(first, second, maxLength: 64, threads: threads) == sequential)
        }
        let concurrent = await withTaskGroup(of: (Int, [Encoding]).self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var session = tokenizer.makeSession()
                    let slice = stride(from: worker, to: first.count, by: 4).map { i in
                        session.encode(first[i], second[i], maxLength: 64)
                    }
                    return (worker, slice)
                }
            }
            var merged = [Encoding?](repeating: nil, count: first.count)
            for await (worker, slice) in group {
                for (k, encoding) in slice.enumerated() { merged[worker + 4 * k] = encoding }
            }
            return merged.map { $0! }
        }
        #expect(concurrent == sequential)
    }

    @Test("a warm session cache gives the same ids as a cold one")
    func cache() throws {
        let tokenizer = try Fixtures.tokenizer(.robertaJSON)
        var session = tokenizer.makeSession()
        let text = "The cat's whiskers, the cats' whiskers; unbelievable!"
        let cold = session.encode(text, "again: \(text)")
        let warm = session.encode(text, "again: \(text)")
        #expect(cold == warm)
        #expect(cold == tokenizer.encode(text, "again: \(text)"))
    }
}
