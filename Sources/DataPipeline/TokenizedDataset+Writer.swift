import Foundation
import HDF5Kit

/// Writes a tokenized dataset directory atomically: shards are written into a hidden
/// temporary directory beside the target, flushed and fsynced, and only then renamed into
/// place. A failure leaves any previous dataset at `directory` untouched.
public enum TokenizedDatasetWriter {
    /// One encoded example.
    public struct Row: Sendable {
        public var inputIDs: [Int32]
        public var tokenTypeIDs: [Int32]
        public var label: Float?
        public init(inputIDs: [Int32], tokenTypeIDs: [Int32], label: Float?) {
            self.inputIDs = inputIDs; self.tokenTypeIDs = tokenTypeIDs; self.label = label
        }
    }

    /// Writes `rows` as `shards` files under `directory` (created or replaced).
    /// `metadata.numExamples` is set from `rows.count`.
    public static func write(_ rows: [Row], metadata: DatasetMetadata, to directory: String, shards: Int = 1) throws {
        guard shards >= 1 else { throw DataError(file: directory, line: 0, problem: "--shards must be at least 1") }
        let stream = try Stream(metadata: metadata, directory: directory,
                                shardExamples: max(1, (rows.count + shards - 1) / shards), minimumShards: shards)
        for r in rows { try stream.append(r) }
        _ = try stream.finish()
    }

    /// Writes a dataset of unknown size shard by shard: rows are buffered until a shard is full
    /// (`shardExamples`), that shard is written and the buffer reused, so memory holds one
    /// shard whatever the dataset's size. The shards go to a hidden temporary directory beside
    /// the target; `finish()` records the final counts in every shard, names them, and swaps
    /// the directory into place. Dropped without `finish()` (an error upstream), it removes the
    /// temporary directory: a partial dataset never looks complete.
    public final class Stream {
        public let directory: String
        public let shardExamples: Int
        private var metadata: DatasetMetadata
        private let minimumShards: Int
        private let target: URL, tmp: URL
        private var buffer: [Row] = []
        private var parts: [(path: String, rows: Int)] = []
        private var total = 0
        private var hasLabels = false
        private var finished = false

        public init(metadata: DatasetMetadata, directory: String, shardExamples: Int, minimumShards: Int = 1) throws {
            guard shardExamples >= 1 else { throw DataError(file: directory, line: 0, problem: "shard size must be at least 1 example") }
            self.directory = directory
            self.metadata = metadata
            self.shardExamples = shardExamples
            self.minimumShards = minimumShards
            let fm = FileManager.default
            target = URL(fileURLWithPath: directory).standardizedFileURL
            let parent = target.deletingLastPathComponent()
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            tmp = parent.appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())")
            try? fm.removeItem(at: tmp)
            try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
            buffer.reserveCapacity(shardExamples)
        }

        deinit { if !finished { try? FileManager.default.removeItem(at: tmp) } }

        /// Examples appended so far.
        public var count: Int { total }

        public func append(_ row: Row) throws {
            precondition(!finished, "append after finish")
            buffer.append(row)
            total += 1
            if row.label != nil { hasLabels = true }
            if buffer.count == shardExamples { try flush() }
        }

        private func flush() throws {
            let path = tmp.appendingPathComponent(String(format: "part-%05d.h5", parts.count)).path
            metadata.shardIndex = parts.count
            metadata.firstExample = total - buffer.count
            metadata.shardCount = 0      // set by finish()
            metadata.numExamples = 0
            try TokenizedDatasetWriter.writeShard(buffer[...], metadata: metadata, path: path)
            parts.append((path, buffer.count))
            buffer.removeAll(keepingCapacity: true)
        }

        /// Writes the last shard, sets `num_examples`, `shard_count` and `has_labels` in every
        /// shard, and moves the dataset into place (replacing any previous one).
        @discardableResult
        public func finish() throws -> (examples: Int, shards: Int) {
            if !buffer.isEmpty || parts.isEmpty { try flush() }
            while parts.count < minimumShards { try flush() }
            let fm = FileManager.default
            for (k, part) in parts.enumerated() {
                let f = try HDF5File.open(part.path, writable: true)
                try f.root.setAttribute("num_examples", .int(Int64(total)))
                try f.root.setAttribute("shard_count", .int(Int64(parts.count)))
                try f.root.setAttribute("has_labels", .int(hasLabels ? 1 : 0))
                try f.flush()
                try f.close()
                let final = tmp.appendingPathComponent(TokenizedDatasetFormat.shardName(k, of: parts.count)).path
                try fm.moveItem(atPath: part.path, toPath: final)
                let fd = open(final, O_RDONLY)
                if fd >= 0 { fsync(fd); close(fd) }
            }
            // Swap into place: old → .old, new → target, remove old.
            let parent = target.deletingLastPathComponent()
            let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())")
            let hadOld = fm.fileExists(atPath: target.path)
            if hadOld { try fm.moveItem(at: target, to: old) }
            do { try fm.moveItem(at: tmp, to: target) } catch {
                if hadOld { try? fm.moveItem(at: old, to: target) }
                throw error
            }
            if hadOld { try? fm.removeItem(at: old) }
            finished = true
            return (total, parts.count)
        }
    }

    static func writeShard(_ rows: ArraySlice<Row>, metadata m: DatasetMetadata, path: String) throws {
        var ids: [Int32] = [], types: [Int8] = [], offsets: [Int64] = [0]
        ids.reserveCapacity(rows.reduce(0) { $0 + $1.inputIDs.count })
        types.reserveCapacity(ids.capacity)
        for r in rows {
            precondition(r.inputIDs.count == r.tokenTypeIDs.count, "ids and type ids differ in length")
            ids += r.inputIDs
            types += r.tokenTypeIDs.map { Int8(truncatingIfNeeded: $0) }
            offsets.append(Int64(ids.count))
        }
        let f = try HDF5File.create(path)
        try f.root.write("input_ids", ids)
        try f.root.write("token_type_ids", types)
        try f.root.write("offsets", offsets)
        if m.isRegression {
            try f.root.write("labels", rows.map { $0.label ?? .nan })
        } else {
            try f.root.write("labels", rows.map { $0.label.map { Int32($0) } ?? -1 })
        }
        var attrs: [(String, HDF5Attribute)] = [
            ("format", .string(TokenizedDatasetFormat.name)),
            ("format_version", .int(TokenizedDatasetFormat.version)),
            ("task", .string(m.task)), ("split", .string(m.split)),
            ("tokenizer", .string(m.tokenizerName)), ("tokenizer_sha256", .string(m.tokenizerSHA256)),
            ("max_length", .int(Int64(m.maxLength))), ("num_labels", .int(Int64(m.numLabels))),
            ("label_names", .string(m.labelNames.joined(separator: "\t"))),
            ("is_regression", .int(m.isRegression ? 1 : 0)), ("has_labels", .int(m.hasLabels ? 1 : 0)),
            ("num_examples", .int(Int64(m.numExamples))), ("source_sha256", .string(m.sourceSHA256)),
            ("pad_token_id", .int(Int64(m.padTokenID))),
            ("shard_index", .int(Int64(m.shardIndex))), ("shard_count", .int(Int64(m.shardCount))),
            ("first_example", .int(Int64(m.firstExample))), ("shard_examples", .int(Int64(rows.count))),
        ]
        if let fields = m.inputFields {
            attrs += [("text_field", .string(fields.text)), ("pair_field", .string(fields.pair ?? ""))]
        }
        for (k, v) in attrs { try f.root.setAttribute(k, v) }
        try f.flush()
        try f.close()
        let fd = open(path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
