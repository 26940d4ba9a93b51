/// Which configuration keys may differ between a checkpoint and the run resuming it.
///
/// A checkpoint stores the resolved configuration (`TrainConfig.yaml`, one `key: value` line per
/// schema key). On resume, keys that do not change the steps already taken may change — the run's
/// length, the evaluation/checkpoint cadence, logging, threads, the output directory — each with
/// a note; any other difference is refused, naming the key with its old and new value.
public enum ResumePolicy {
    /// Keys that may change on resume, with what the change means.
    public static let mutable: [String: String] = [
        "train.max_steps": "the run's length changes; the learning-rate schedule follows the new total from the next step",
        "train.epochs": "the run's length changes; the learning-rate schedule follows the new total from the next step",
        "eval.every_steps": "evaluations come at the new cadence",
        "eval.batch_size": "evaluation batches change (metrics do not)",
        "data.dev": "evaluations use the new dev sets; the best-so-far metric was measured on the old ones",
        "checkpoint.every_steps": "checkpoints come at the new cadence",
        "checkpoint.every_minutes": "checkpoints come at the new cadence",
        "checkpoint.keep_last": "a different number of checkpoints is kept",
        "log.every_steps": "logging changes", "log.record_every": "logging changes", "log.progress": "logging changes",
        "train.threads": "threads per rank change (kernels give the same bits for any thread count)",
        "train.watchdog_seconds": "the hang watchdog's floor changes",
        "output_dir": "the run continues in another directory",
    ]

    /// The lines of a stored configuration as key → value.
    static func entries(_ yaml: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in yaml.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// Compares the checkpoint's configuration with the new one: returns a note per allowed
    /// change, throws naming every other differing key (old → new).
    public static func check(checkpoint old: String, resuming new: String, file: String) throws -> [String] {
        let a = entries(old), b = entries(new)
        var notes: [String] = [], refused: [String] = []
        for key in Set(a.keys).union(b.keys).sorted() where a[key] != b[key] {
            let change = "\(key): \(a[key] ?? "(absent)") → \(b[key] ?? "(absent)")"
            if let why = mutable[key] { notes.append("\(change) (\(why))") } else { refused.append(change) }
        }
        guard refused.isEmpty else {
            throw CheckpointError(file: file, problem: "was written with another configuration: " + refused.joined(separator: "; ")
                + ". These keys change the steps already taken; resume with the checkpoint's values (keys that may change: "
                + mutable.keys.sorted().joined(separator: ", ") + ")")
        }
        return notes
    }
}
