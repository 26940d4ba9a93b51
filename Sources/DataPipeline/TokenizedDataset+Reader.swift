import Foundation
import HDF5Kit

/// Opens a tokenized dataset directory for reading. It loads every shard's `offsets` and
/// `labels` (small: 8 + 4 bytes per example) and reads token ids on demand by hyperslab,
/// so a rank touches only the tokens of its own examples.
///
/// Opening checks the format name and version, that the shards form one dataset (same
/// attributes, indices 0..<N, contiguous example ranges, offsets consistent with the token
/// datasets), and `require(...)` checks the dataset fits the model and config.
public final class TokenizedDataset {
    public let directory: String
    /// Dataset-wide attributes (shard fields are those of shard 0).
    public let metadata: DatasetMetadata
    /// Number of examples.
    public var count: Int { lengths.count }
    /// Token count of each example (special tokens included).
    public let lengths: [Int]
    /// Label of each example: class id as Float, a score, or NaN/−1 when unlabelled.
    public let labels: [Float]

    private let shards: [(file: HDF5File, first: Int, offsets: [Int64])]

    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw DataError(file: directory, line: 0, problem: "no such dataset directory (run `dcft prepare` first)")
        }
        let names = try fm.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("shard-") && $0.hasSuffix(".h5") }.sorted()
        guard !names.isEmpty else { throw DataError(file: directory, line: 0, problem: "no shard-*.h5 files in the dataset directory") }

        var opened: [(HDF5File, Int, [Int64])] = []
        var lengths: [Int] = [], labels: [Float] = []
        var first: DatasetMetadata? = nil
        for (k, name) in names.enumerated() {
            let path = directory + "/" + name
            let f = try HDF5File.open(path)
            let m = try Self.readMetadata(f)
            if let first {
                guard m.datasetWide == first.datasetWide else {
                    throw DataError(file: path, line: 0, problem: "shard attributes differ from \(names[0]) (mixed datasets in one directory?)")
                }
            }
            guard m.shardIndex == k, m.shardCount == names.count else {
                throw DataError(file: path, line: 0, problem: "is shard \(m.shardIndex) of \(m.shardCount), but the directory has \(names.count) shards (a shard is missing or extra)")
            }
            guard m.firstExample == lengths.count else {
                throw DataError(file: path, line: 0, problem: "first_example is \(m.firstExample), expected \(lengths.count)")
            }
            let offsets = try f.root.read("offsets", as: Int64.self).values
            let tokens = try f.root.shape(of: "input_ids")
            let typeShape = try f.root.shape(of: "token_type_ids")
            guard offsets.first == 0, tokens.count == 1, typeShape == tokens, Int(offsets.last ?? -1) == tokens[0],
                  zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw DataError(file: path, line: 0, problem: "offsets do not describe input_ids (corrupted shard)")
            }
            let n = offsets.count - 1
            if m.isRegression {
                let l = try f.root.read("labels", as: Float.self)
                guard l.values.count == n else { throw DataError(file: path, line: 0, problem: "labels has \(l.values.count) rows, offsets \(n)") }
                labels += l.values
            } else {
                let l = try f.root.read("labels", as: Int32.self)
                guard l.values.count == n else { throw DataError(file: path, line: 0, problem: "labels has \(l.values.count) rows, offsets \(n)") }
                labels += l.values.map { Float($0) }
            }
            for i in 0..<n { lengths.append(Int(offsets[i + 1] - offsets[i])) }
            opened.append((f, m.firstExample, offsets))
            if first == nil { first = m }
        }
        guard let meta = first, meta.numExamples == lengths.count else {
            throw DataError(file: directory, line: 0, problem: "num_examples is \(first?.numExamples ?? -1) but the shards hold \(lengths.count)")
        }
        self.metadata = meta
        self.lengths = lengths
        self.labels = labels
        self.shards = opened.map { (file: $0.0, first: $0.1, offsets: $0.2) }
    }

    static func readMetadata(_ f: HDF5File) throws -> DatasetMetadata {
        let r = f.root
        func str(_ k: String) throws -> String {
            guard case .string(let s) = try r.attribute(k) else { throw DataError(file: f.path, line: 0, problem: "attribute \(k) is not a string") }
            return s
        }
        func int(_ k: String) throws -> Int {
            guard case .int(let v) = try r.attribute(k) else { throw DataError(file: f.path, line: 0, problem: "attribute \(k) is not an integer") }
            return Int(v)
        }
        let format = try str("format")
        guard format == TokenizedDatasetFormat.name else {
            throw DataError(file: f.path, line: 0, problem: "format is \"\(format)\", not a dcft tokenized dataset")
        }
        let version = try int("format_version")
        guard version == Int(TokenizedDatasetFormat.version) else {
            throw DataError(file: f.path, line: 0, problem: "format_version \(version) is not supported (this dcft reads version \(TokenizedDatasetFormat.version)); re-run `dcft prepare`")
        }
        let names = try str("label_names")
        var m = DatasetMetadata(task: try str("task"), split: try str("split"), tokenizerName: try str("tokenizer"),
                                tokenizerSHA256: try str("tokenizer_sha256"), maxLength: try int("max_length"),
                                numLabels: try int("num_labels"),
                                labelNames: names.isEmpty ? [] : names.components(separatedBy: "\t"),
                                isRegression: try int("is_regression") != 0, hasLabels: try int("has_labels") != 0,
                                numExamples: try int("num_examples"), sourceSHA256: try str("source_sha256"),
                                padTokenID: Int32(try int("pad_token_id")))
        m.shardIndex = try int("shard_index")
        m.shardCount = try int("shard_count")
        m.firstExample = try int("first_example")
        if try r.attributeNames().contains("text_field") {  // optional: absent in older datasets
            let pair = try str("pair_field")
            m.inputFields = InputFields(text: try str("text_field"), pair: pair.isEmpty ? nil : pair)
        }
        return m
    }

    /// Refuses a dataset that does not fit: another tokenizer, a longer max length than the
    /// model takes, another task or label count. Messages name both values.
    public func require(tokenizerSHA256: String? = nil, maxLength: Int? = nil, task: String? = nil,
                        numLabels: Int? = nil, split: String? = nil) throws {
        func fail(_ what: String) -> DataError { DataError(file: directory, line: 0, problem: what) }
        if let t = tokenizerSHA256, t != metadata.tokenizerSHA256 {
            throw fail("was tokenized with tokenizer sha256 \(metadata.tokenizerSHA256.prefix(12))…, the model's tokenizer is \(t.prefix(12))…; re-run `dcft prepare` with this model")
        }
        if let l = maxLength, metadata.maxLength > l {
            throw fail("was prepared with max_length \(metadata.maxLength), more than the \(l) allowed here")
        }
        if let t = task, t != metadata.task { throw fail("holds task \"\(metadata.task)\", expected \"\(t)\"") }
        if let n = numLabels, n != metadata.numLabels { throw fail("has \(metadata.numLabels) labels, expected \(n)") }
        if let s = split, s != metadata.split { throw fail("holds split \"\(metadata.split)\", expected \"\(s)\"") }
    }

    /// Locates example `i`: its shard and token range inside that shard.
    func locate(_ i: Int) -> (shard: Int, range: Range<Int>) {
        var lo = 0, hi = shards.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if shards[mid].first <= i { lo = mid } else { hi = mid - 1 }
        }
        let local = i - shards[lo].first
        let o = shards[lo].offsets
        return (lo, Int(o[local])..<Int(o[local + 1]))
    }

    /// Token ids and segment ids of one example (for tools and tests).
    public func example(_ i: Int) throws -> (inputIDs: [Int32], tokenTypeIDs: [Int32]) {
        precondition(i >= 0 && i < count, "example \(i) outside 0..<\(count)")
        let (s, r) = locate(i)
        let ids = try shards[s].file.root.readRows("input_ids", rows: r, as: Int32.self).values
        let types = try shards[s].file.root.readRows("token_type_ids", rows: r, as: Int8.self).values
        return (ids, types.map { Int32($0) })
    }

    /// Builds a padded batch of the given examples, padded to the longest of them
    /// (dynamic padding). `valid[i] == false` marks filler rows that must not count.
    public func batch(_ indices: [Int], valid: [Bool]? = nil) throws -> Batch {
        let len = indices.map { lengths[$0] }.max() ?? 0
        var b = Batch(rows: indices.count, length: len, padID: metadata.padTokenID)
        b.exampleIndices = indices
        if let valid { b.valid = valid }
        var scratch = [Int8](repeating: 0, count: len)
        for (row, i) in indices.enumerated() {
            precondition(i >= 0 && i < count, "example \(i) outside 0..<\(count)")
            let (s, r) = locate(i)
            let root = shards[s].file.root
            try b.inputIDs.withUnsafeMutableBufferPointer { p in
                try root.readRows("input_ids", rows: r, into: UnsafeMutableBufferPointer(rebasing: p[row * len ..< row * len + r.count]))
            }
            try scratch.withUnsafeMutableBufferPointer { p in
                try root.readRows("token_type_ids", rows: r, into: UnsafeMutableBufferPointer(rebasing: p[0..<r.count]))
            }
            for t in 0..<r.count {
                b.tokenTypeIDs[row * len + t] = Int32(scratch[t])
                b.attentionMask[row * len + t] = 1
            }
            b.lengths[row] = r.count
            b.labels[row] = labels[i]
        }
        return b
    }
}
