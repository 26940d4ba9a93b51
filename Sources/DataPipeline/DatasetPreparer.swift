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

    /// Tokenizes one file into a dataset directory (written atomically).
    public static func prepare(examples read: ReadResult, sourceFile: String, task: String, split: String,
                               labelNames: [String], numLabels: Int, isRegression: Bool, inputFields: InputFields? = nil,
                               tokenizer: Tokenizer, tokenizerSHA256: String, maxLength: Int,
                               outDirectory: String, shards: Int, threads: Int) throws -> Report {
        let t0 = Date()
        let encodings = encode(read.examples, tokenizer: tokenizer, maxLength: maxLength, threads: threads)
        var truncated = 0
        var rows: [TokenizedDatasetWriter.Row] = []
        rows.reserveCapacity(encodings.count)
        for (e, x) in zip(encodings, read.examples) {
            if e.count >= maxLength { truncated += 1 }
            rows.append(.init(inputIDs: e.inputIDs, tokenTypeIDs: e.tokenTypeIDs, label: x.label))
        }
        let hasLabels = read.examples.contains { $0.label != nil }
        var meta = DatasetMetadata(task: task, split: split, tokenizerName: "\(tokenizer.kind.rawValue):\(tokenizer.source?.lastPathComponent ?? "in-memory")",
                                   tokenizerSHA256: tokenizerSHA256, maxLength: maxLength, numLabels: numLabels,
                                   labelNames: labelNames, isRegression: isRegression, hasLabels: hasLabels,
                                   numExamples: rows.count, sourceSHA256: try SHA256.hex(file: sourceFile),
                                   padTokenID: tokenizer.specialTokenIDs.pad)
        meta.inputFields = inputFields
        try TokenizedDatasetWriter.write(rows, metadata: meta, to: outDirectory, shards: shards)
        return Report(split: split, directory: outDirectory, examples: rows.count,
                      tokens: rows.reduce(0) { $0 + $1.inputIDs.count }, skipped: read.skipped,
                      truncated: truncated, seconds: Date().timeIntervalSince(t0))
    }
}
