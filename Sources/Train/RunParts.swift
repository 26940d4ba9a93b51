import Foundation
import Model

/// When the run loop evaluates and checkpoints: at every epoch's end, every
/// `eval.every_steps` steps and at the last step (evaluation, then a checkpoint), and every
/// `checkpoint.every_steps` steps in between (checkpoint only).
public struct EvaluationSchedule: Sendable, Equatable {
    public enum Action: Sendable, Equatable { case none, checkpoint, evaluate }
    public var evalEvery: Int
    public var checkpointEvery: Int

    public init(evalEvery: Int, checkpointEvery: Int) { self.evalEvery = evalEvery; self.checkpointEvery = checkpointEvery }

    /// What to do after optimizer step `step` (1-based) of `total`.
    public func action(after step: Int, of total: Int, epochEnded: Bool) -> Action {
        if epochEnded || (evalEvery > 0 && step % evalEvery == 0) || step == total { return .evaluate }
        if checkpointEvery > 0 && step % checkpointEvery == 0 { return .checkpoint }
        return .none
    }
}

/// Wall-time checkpointing (`checkpoint.every_minutes`): due when that many minutes have
/// passed since the run started or since the last checkpoint.
public struct CheckpointClock: Sendable {
    public let seconds: Double
    private var last = Date()

    public init(minutes: Double) { seconds = minutes * 60 }

    public var enabled: Bool { seconds > 0 }
    public var due: Bool { enabled && Date().timeIntervalSince(last) >= seconds }
    public mutating func reset() { last = Date() }
}

/// The training records of `log.jsonl` over a window of steps (`log.record_every`): each
/// numeric field's mean, plus `steps` (the window's length), `step_ms_max` and the last step's
/// `step`, `epoch` and `lr`. A window of one step is that step's record (with `steps: 1`).
public struct RecordWindow {
    private var sums: [String: Double] = [:]
    private var last: [String: Any] = [:]
    private var count = 0
    private var stepMsMax = 0.0

    public init() {}

    public mutating func add(_ record: [String: Any]) {
        count += 1
        last = record
        for (k, v) in record {
            switch v {
            case let x as Double: sums[k, default: 0] += x
            case let x as Float: sums[k, default: 0] += Double(x)
            case let x as Int: sums[k, default: 0] += Double(x)
            default: break
            }
        }
        stepMsMax = max(stepMsMax, (record["step_ms"] as? Double) ?? 0)
    }

    /// The window's record, and a fresh window; nil when empty.
    public mutating func take() -> [String: Any]? {
        guard count > 0 else { return nil }
        var out: [String: Any] = [:]
        for (k, s) in sums { out[k] = s / Double(count) }
        for k in ["step", "epoch", "lr"] { out[k] = last[k] }
        out["tokens"] = sums["tokens"]
        out["steps"] = count
        out["step_ms_max"] = stepMsMax
        self = RecordWindow()
        return out
    }
}

/// The checkpoints of a run directory: `ckpt-stepNNNNNNNN.h5` written atomically (temporary
/// name, fsync, rename: `Checkpoint.write`), the newest `keepLast` kept, the best hard-linked
/// to `best.h5`, and the newest found for `--resume auto`.
public struct CheckpointManager: Sendable {
    public let directory: String
    public let keepLast: Int

    public init(directory: String, keepLast: Int) { self.directory = directory; self.keepLast = keepLast }

    public static func fileName(step: Int) -> String { String(format: "ckpt-step%08d.h5", step) }

    /// Checkpoint files, oldest first.
    public func checkpoints() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("ckpt-step") && $0.hasSuffix(".h5") }.sorted().map { directory + "/" + $0 }
    }

    /// The newest checkpoint, or nil.
    public func latest() -> String? { checkpoints().last }

    /// Writes `checkpoint` for its step and reads it back (every tensor's SHA-256 checked); only
    /// then links it as `best.h5` when `isBest` and removes all but the newest `keepLast` (at
    /// least the one just written), so the previous good checkpoint outlives a bad write.
    public func save(_ checkpoint: Checkpoint, shapes: [String: [Int]], isBest: Bool) throws {
        let path = directory + "/" + Self.fileName(step: checkpoint.step)
        try checkpoint.write(to: path, shapes: shapes)
        do { _ = try Checkpoint.read(path) } catch {
            unlink(path)
            throw CheckpointError(file: path, problem: "did not read back as written (removed; the previous checkpoints are kept): \(error)")
        }
        if isBest {
            let tmp = directory + "/.best.h5.tmp"
            unlink(tmp)
            if link(path, tmp) != 0 { throw CheckpointError(file: path, problem: "cannot link the best checkpoint: \(String(cString: strerror(errno)))") }
            rename(tmp, directory + "/best.h5")
        }
        for old in checkpoints().dropLast(max(keepLast, 1)) { unlink(old) }
    }
}

/// Failure injection for the tests, read once at start from `DCFT_FAULT=kind:rank:step`:
/// `kill` makes that rank die by SIGKILL at that step, `nan` makes its loss NaN, `throw` raises
/// an error (as a disk-full or bad-data failure would); `delay` makes that rank sleep that many
/// milliseconds (the third field) at every step — a slow rank, or a long run in a short test;
/// `term` sends that rank SIGTERM at that step (a preemption, `Preemption`); `stop` SIGSTOPs it
/// there (a hung rank, for the watchdog).
public struct FaultInjection: Sendable, Equatable {
    public enum Kind: String, Sendable { case kill, nan, `throw`, delay, term, stop }
    public let kind: Kind
    public let rank: Int
    public let step: Int

    /// The fault `environment` asks for on `rank`, or nil (also for a malformed value).
    public static func from(environment: [String: String], rank: Int) -> FaultInjection? {
        guard let spec = environment["DCFT_FAULT"] else { return nil }
        let parts = spec.split(separator: ":").map(String.init)
        guard parts.count == 3, let kind = Kind(rawValue: parts[0]), let r = Int(parts[1]), let s = Int(parts[2]), r == rank else { return nil }
        return FaultInjection(kind: kind, rank: r, step: s)
    }

    /// The hook for `TrainingStep.beforeReduce`.
    public var hook: (_ step: Int, _ loss: inout Float) throws -> Void {
        let fault = self
        return { step, loss in
            if fault.kind == .delay { usleep(useconds_t(fault.step * 1000)); return }
            guard step == fault.step else { return }
            switch fault.kind {
            case .kill: kill(getpid(), SIGKILL)
            case .term: kill(getpid(), SIGTERM)
            case .stop: kill(getpid(), SIGSTOP)
            case .nan: loss = .nan
            case .throw: throw CheckpointError(file: "DCFT_FAULT", problem: "injected failure at step \(step)")
            case .delay: break
            }
        }
    }
}
