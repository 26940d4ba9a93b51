import Foundation
import Dispatch

/// Tokenizes raw examples into the dataset format: the engine behind `dcft prepare`.
public enum DatasetPreparer {
    /// What one prepared split contains.
    public struct Report: Sendable {
        public var split: String
        public var directory: String
        public var examples: Int
        public var tokens: Int
        /// Rows dropped with `--skip-bad`.
        public var skipped: [DataError]
        /// Examples cut by truncation to `maxLength`.
        public var truncated: Int
        public var seconds: Double
    }

    /// Encodes `examples` with `tokenizer`, truncating pairs `longest_first` to `maxLength`,
    /// split over `threads` cores (each with its own tokenizer session; output order is the
    /// input order).
    public static func encode(_ examples: [Example], tokenizer: Tokenizer, maxLength: Int, threads: Int) -> [Encoding] {
        var out = [Encoding](repeating: Encoding(inputIDs: [], tokenTypeIDs: []), count: examples.count)
        let chunks = max(1, min(threads, examples.count / 256))
        let per = (examples.count + chunks - 1) / chunks
        out.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                var session = tokenizer.makeSession()
                for i in (c * per)..<min(examples.count, (c + 1) * per) {
                    let e = examples[i]
                    (base + i).pointee = e.textB.map { session.encode(e.textA, $0, maxLength: maxLength) }
                        ?? session.encode(e.textA, maxLength: maxLength)
                }
            }
        }
        return out
    }

    /// Tokenizes one file, already read, into a dataset directory of `shards` files (written
    /// atomically).
    public static func prepare(examples read: ReadResult, sourceFile: String, task: String, split: String,
                               labelNames: [String], numLabels: Int, isRegression: Bool, inputFields: InputFields? = nil,
                               tokenizer: Tokenizer, tokenizerSHA256: String, maxLength: Int,
                               outDirectory: String, shards: Int, threads: Int) throws -> Report {
        guard shards >= 1 else { throw DataError(file: outDirectory, line: 0, problem: "--shards must be at least 1") }
        return try prepare(batches: { body in try body(read.examples, read.skipped) }, sourceFile: sourceFile, task: task, split: split,
                           labelNames: labelNames, numLabels: numLabels, isRegression: isRegression, inputFields: inputFields,
                           tokenizer: tokenizer, tokenizerSHA256: tokenizerSHA256, maxLength: maxLength, outDirectory: outDirectory,
                           shardExamples: max(1, (read.examples.count + shards - 1) / shards), minimumShards: shards, threads: threads)
    }

    /// Tokenizes a stream of example batches (`GLUEReader.forEachBatch`) into a dataset
    /// directory, shard by shard: memory holds one batch and one shard of `shardExamples`
    /// rows, whatever the input's size. The directory appears only when complete.
    public static func prepare(batches: (_ body: ([Example], [DataError]) throws -> Void) throws -> Void,
                               sourceFile: String, task: String, split: String,
                               labelNames: [String], numLabels: Int, isRegression: Bool, inputFields: InputFields? = nil,
                               tokenizer: Tokenizer, tokenizerSHA256: String, maxLength: Int,
                               outDirectory: String, shardExamples: Int, minimumShards: Int = 1, threads: Int) throws -> Report {
        let t0 = Date()
        var meta = DatasetMetadata(task: task, split: split, tokenizerName: "\(tokenizer.kind.rawValue):\(tokenizer.source?.lastPathComponent ?? "in-memory")",
                                   tokenizerSHA256: tokenizerSHA256, maxLength: maxLength, numLabels: numLabels,
                                   labelNames: labelNames, isRegression: isRegression, hasLabels: false,
                                   numExamples: 0, sourceSHA256: try SHA256.hex(file: sourceFile),
                                   padTokenID: tokenizer.specialTokenIDs.pad)
        meta.inputFields = inputFields
        let out = try TokenizedDatasetWriter.Stream(metadata: meta, directory: outDirectory, shardExamples: shardExamples,
                                                    minimumShards: minimumShards)
        var truncated = 0, tokens = 0
        var skipped: [DataError] = []
        try batches { examples, bad in
            skipped += bad
            for (e, x) in zip(encode(examples, tokenizer: tokenizer, maxLength: maxLength, threads: threads), examples) {
                if e.count >= maxLength { truncated += 1 }
                tokens += e.count
                try out.append(.init(inputIDs: e.inputIDs, tokenTypeIDs: e.tokenTypeIDs, label: x.label))
            }
        }
        let (n, _) = try out.finish()
        return Report(split: split, directory: outDirectory, examples: n, tokens: tokens, skipped: skipped,
                      truncated: truncated, seconds: Date().timeIntervalSince(t0))
    }
}
