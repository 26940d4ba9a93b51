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
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let tmp = parent.appendingPathComponent(".\(target.lastPathComponent).tmp-\(getpid())")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        do {
            var meta = metadata
            meta.numExamples = rows.count
            meta.shardCount = shards
            let per = (rows.count + shards - 1) / max(shards, 1)
            for k in 0..<shards {
                let lo = min(rows.count, k * per), hi = min(rows.count, lo + per)
                meta.shardIndex = k
                meta.firstExample = lo
                let path = tmp.appendingPathComponent(TokenizedDatasetFormat.shardName(k, of: shards)).path
                try writeShard(rows[lo..<hi], metadata: meta, path: path)
            }
            // Swap into place: old → .old, new → target, remove old.
            let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())")
            let hadOld = fm.fileExists(atPath: target.path)
            if hadOld { try fm.moveItem(at: target, to: old) }
            do { try fm.moveItem(at: tmp, to: target) } catch {
                if hadOld { try? fm.moveItem(at: old, to: target) }
                throw error
            }
            if hadOld { try? fm.removeItem(at: old) }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
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
