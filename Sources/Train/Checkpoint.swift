import Foundation
import HDF5Kit
import Model
import TensorCore
import DataPipeline

/// A training checkpoint (docs/DESIGN.md §4), one HDF5 file written by rank 0:
///
/// | object | content |
/// |---|---|
/// | `params/<name>` | each trainable tensor, float32, its shape, HF-style name |
/// | `adam_m/<name>`, `adam_v/<name>` | AdamW moments, same layout |
/// | `rng_states` | uint64 `[world_size × 4]`: every rank's dropout generator |
/// | attributes | format, format_version, step, epoch, position (micro-batches consumed in the epoch), adam_step, world_size, base_model_sha256, config (resolved YAML), best_metric, best_step, metric_name, content_sha256 |
///
/// Written to a temporary name, flushed, fsynced and renamed, so a crash never leaves a
/// half-written checkpoint under a real name. `content_sha256` (version 2) holds one SHA-256 per
/// tensor and one over the other attributes (`key hex` lines); `read` recomputes them, so a flipped
/// byte anywhere in the content is reported naming the tensor rather than trained on.
public struct Checkpoint {
    public static let format = "dcft-checkpoint"
    public static let version: Int64 = 2

    public var step: Int
    public var epoch: Int
    public var position: Int
    public var worldSize: Int
    public var baseModelSHA256: String
    public var config: String
    public var bestMetric: Double
    public var bestStep: Int
    public var metricName: String
    public var adamStep: Int
    public var params: [String: [Float]]
    public var adamM: [String: [Float]]
    public var adamV: [String: [Float]]
    /// `worldSize` generator states of 4 words each.
    public var rngStates: [[UInt64]]

    /// Captures the model's trainable tensors and the optimizer state.
    public init(model: SequenceClassifier, optimizer: AdamW, step: Int, epoch: Int, position: Int, worldSize: Int,
                baseModelSHA256: String, config: String, bestMetric: Double, bestStep: Int, metricName: String,
                rngStates: [[UInt64]]) {
        self.step = step; self.epoch = epoch; self.position = position; self.worldSize = worldSize
        self.baseModelSHA256 = baseModelSHA256; self.config = config; self.bestMetric = bestMetric
        self.bestStep = bestStep; self.metricName = metricName; self.adamStep = optimizer.step; self.rngStates = rngStates
        var p: [String: [Float]] = [:], m: [String: [Float]] = [:], v: [String: [Float]] = [:]
        for e in model.store.entries where e.ref.trainable {
            p[e.name] = model.store.get(e.name)
            m[e.name] = Array(UnsafeBufferPointer(start: optimizer.m.pointer + e.ref.offset, count: e.ref.count))
            v[e.name] = Array(UnsafeBufferPointer(start: optimizer.v.pointer + e.ref.offset, count: e.ref.count))
        }
        params = p; adamM = m; adamV = v
    }

    /// Writes atomically to `path` (through `path.tmp-PID`).
    public func write(to path: String, shapes: [String: [Int]]) throws {
        let tmp = path + ".tmp-\(getpid())"
        do {
            let f = try HDF5File.create(tmp)
            for (group, tensors) in [("params", params), ("adam_m", adamM), ("adam_v", adamV)] {
                let g = try f.root.createGroup(group)
                for name in tensors.keys.sorted() { try g.write(name, tensors[name]!, shape: shapes[name] ?? [tensors[name]!.count]) }
            }
            try f.root.write("rng_states", rngStates.flatMap { $0 }, shape: [rngStates.count, 4])
            let attrs: [(String, HDF5Attribute)] = [
                ("format", .string(Self.format)), ("format_version", .int(Self.version)),
                ("step", .int(Int64(step))), ("epoch", .int(Int64(epoch))), ("position", .int(Int64(position))),
                ("adam_step", .int(Int64(adamStep))), ("world_size", .int(Int64(worldSize))),
                ("base_model_sha256", .string(baseModelSHA256)), ("config", .string(config)),
                ("best_metric", .double(bestMetric)), ("best_step", .int(Int64(bestStep))), ("metric_name", .string(metricName)),
                ("content_sha256", .string(Self.digestText(contentDigests()))),
            ]
            for (k, v) in attrs { try f.root.setAttribute(k, v) }
            try f.flush()
            try f.close()
            let fd = open(tmp, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            if rename(tmp, path) != 0 { throw CheckpointError(file: path, problem: "cannot rename the temporary file into place: \(String(cString: strerror(errno)))") }
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// Reads and validates a checkpoint file.
    public static func read(_ path: String) throws -> Checkpoint {
        let f = try HDF5File.open(path)
        let r = f.root
        func str(_ k: String) throws -> String {
            guard case .string(let s) = try r.attribute(k) else { throw CheckpointError(file: path, problem: "attribute \(k) is not a string") }
            return s
        }
        func int(_ k: String) throws -> Int {
            guard case .int(let v) = try r.attribute(k) else { throw CheckpointError(file: path, problem: "attribute \(k) is not an integer") }
            return Int(v)
        }
        guard try str("format") == format else { throw CheckpointError(file: path, problem: "not a dcft checkpoint") }
        let fileVersion = try int("format_version")
        guard fileVersion == 1 || fileVersion == Int(version) else {
            throw CheckpointError(file: path, problem: "checkpoint format_version \(fileVersion) is not supported (this dcft reads 1 and \(version))")
        }
        var c = Checkpoint(step: try int("step"), epoch: try int("epoch"), position: try int("position"),
                           worldSize: try int("world_size"), baseModelSHA256: try str("base_model_sha256"),
                           config: try str("config"), bestMetric: 0, bestStep: try int("best_step"),
                           metricName: try str("metric_name"), adamStep: try int("adam_step"),
                           params: [:], adamM: [:], adamV: [:], rngStates: [])
        if case .double(let b) = try r.attribute("best_metric") { c.bestMetric = b }
        for (group, keyPath) in [("params", \Checkpoint.params), ("adam_m", \Checkpoint.adamM), ("adam_v", \Checkpoint.adamV)] {
            let g = try r.group(group)
            var d: [String: [Float]] = [:]
            for child in try g.children() { d[child.name] = try g.read(child.name, as: Float.self).values }
            c[keyPath: keyPath] = d
        }
        // The three groups hold the same tensors with the same sizes (a file that disagrees is
        // corrupt, whatever its version: found by dcft-fuzz on version-1 files, which carry no digests).
        for (group, d) in [("adam_m", c.adamM), ("adam_v", c.adamV)] {
            guard Set(d.keys) == Set(c.params.keys), d.allSatisfy({ c.params[$0.key]?.count == $0.value.count }) else {
                throw CheckpointError(file: path, problem: "is corrupt: \(group) does not hold the same tensors and sizes as params")
            }
        }
        let rng = try r.read("rng_states", as: UInt64.self)
        guard rng.shape == [c.worldSize, 4] else { throw CheckpointError(file: path, problem: "rng_states has shape \(rng.shape), expected [\(c.worldSize), 4]") }
        c.rngStates = (0..<c.worldSize).map { Array(rng.values[$0 * 4..<$0 * 4 + 4]) }
        if fileVersion >= 2 {   // version 1 files carry no digests
            let stored = Self.parseDigests(try str("content_sha256"))
            let actual = c.contentDigests()
            let bad = Set(stored.keys).union(actual.keys).sorted().filter { stored[$0] != actual[$0] }
            guard bad.isEmpty else {
                throw CheckpointError(file: path, problem: "is corrupt: the content of \(bad.prefix(5).joined(separator: ", "))\(bad.count > 5 ? " (\(bad.count) in all)" : "") does not match the SHA-256 written with it")
            }
        }
        return c
    }

    /// SHA-256 of every tensor (`params/NAME`, `adam_m/NAME`, `adam_v/NAME`, `rng_states`) and of
    /// the other attributes (`attributes`), as stored in `content_sha256`.
    func contentDigests() -> [String: String] {
        var out: [String: String] = [:]
        func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        for (group, tensors) in [("params", params), ("adam_m", adamM), ("adam_v", adamV)] {
            for (name, values) in tensors { out[group + "/" + name] = SHA256.hex(bytes(values)) }
        }
        out["rng_states"] = SHA256.hex(bytes(rngStates.flatMap { $0 }))
        let attributes = "step=\(step)\nepoch=\(epoch)\nposition=\(position)\nadam_step=\(adamStep)\nworld_size=\(worldSize)\n"
            + "base_model_sha256=\(baseModelSHA256)\nbest_metric=\(bestMetric.bitPattern)\nbest_step=\(bestStep)\nmetric_name=\(metricName)\nconfig=\(config)"
        out["attributes"] = SHA256.hex(Array(attributes.utf8))
        return out
    }

    static func digestText(_ d: [String: String]) -> String { d.keys.sorted().map { "\($0) \(d[$0]!)" }.joined(separator: "\n") }

    static func parseDigests(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let space = line.lastIndex(of: " ") else { continue }
            out[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return out
    }

    init(step: Int, epoch: Int, position: Int, worldSize: Int, baseModelSHA256: String, config: String, bestMetric: Double,
         bestStep: Int, metricName: String, adamStep: Int, params: [String: [Float]], adamM: [String: [Float]],
         adamV: [String: [Float]], rngStates: [[UInt64]]) {
        self.step = step; self.epoch = epoch; self.position = position; self.worldSize = worldSize
        self.baseModelSHA256 = baseModelSHA256; self.config = config; self.bestMetric = bestMetric; self.bestStep = bestStep
        self.metricName = metricName; self.adamStep = adamStep; self.params = params; self.adamM = adamM; self.adamV = adamV
        self.rngStates = rngStates
    }

    /// Restores parameters and optimizer state; every trainable tensor must be present.
    public func restore(into model: SequenceClassifier, optimizer: AdamW, file: String) throws {
        var m = [Float](repeating: 0, count: optimizer.m.count), v = m
        for e in model.store.entries where e.ref.trainable {
            guard let p = params[e.name], let pm = adamM[e.name], let pv = adamV[e.name],
                  p.count == e.ref.count, pm.count == e.ref.count, pv.count == e.ref.count else {
                throw CheckpointError(file: file, problem: "tensor \(e.name) is missing or has another size than the model's (different adapter settings?)")
            }
            model.store.set(e.name, p)
            for i in 0..<e.ref.count { m[e.ref.offset + i] = pm[i]; v[e.ref.offset + i] = pv[i] }
        }
        let extra = Set(params.keys).subtracting(model.store.trainableNames)
        if !extra.isEmpty { throw CheckpointError(file: file, problem: "holds tensors the model does not train: \(extra.sorted().prefix(5))") }
        optimizer.restore(step: adamStep, m: m, v: v)
    }
}

/// A checkpoint that cannot be written, read or used.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let problem: String
    public var description: String { "\(file): \(problem)" }
}
