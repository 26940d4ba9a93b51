import Foundation

/// Rank 0's record of a run: one JSON object per line in `log.jsonl` (training records and
/// evaluation records), plus the human view on standard output — a progress bar redrawn
/// in place on a terminal, plain lines otherwise (pipes, files, mpirun without a tty).
public final class RunLog {
    public let path: String
    private let handle: FileHandle
    private let isTerminal: Bool
    private let start = Date()
    private var lastBar = ""
    /// The step this process started at (a resumed run's checkpoint step), for the ETA.
    public var firstStep = 0

    /// Opens `dir/log.jsonl`. A resumed run keeps the records up to `keepThrough` steps and
    /// drops later ones (they are about to be recomputed).
    public init(directory: String, resumeFrom keepThrough: Int?, progress: String = "auto") throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/log.jsonl"
        var kept = ""
        if let keep = keepThrough, let old = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in old.split(separator: "\n") {
                if let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                   let s = (o["step"] as? NSNumber)?.intValue, s <= keep { kept += line + "\n" }
            }
        }
        try kept.write(toFile: path, atomically: true, encoding: .utf8)
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw CheckpointError(file: path, problem: "cannot open the run log for writing")
        }
        h.seekToEndOfFile()
        handle = h
        isTerminal = progress == "bar" || (progress == "auto" && isatty(STDOUT_FILENO) != 0)
    }

    deinit { try? handle.close() }

    /// Appends one record (keys sorted, numbers as JSON numbers; NaN/inf as null).
    public func record(_ fields: [String: Any]) {
        var clean: [String: Any] = [:]
        for (k, v) in fields {
            if let d = v as? Double, !d.isFinite { clean[k] = NSNull() } else if let f = v as? Float, !f.isFinite { clean[k] = NSNull() } else { clean[k] = v }
        }
        if let data = try? JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys]) {
            handle.write(data)
            handle.write(Data("\n".utf8))
        }
    }

    /// A progress update: a bar in place on a terminal, otherwise a plain line.
    public func progress(step: Int, total: Int, loss: Double, lr: Double, tokensPerSecond: Double) {
        let elapsed = Date().timeIntervalSince(start)
        let done = step - firstStep
        let eta = done > 0 ? elapsed / Double(done) * Double(total - step) : 0
        let stats = String(format: "loss %.4f  lr %.2e  %.0f tok/s  ETA %@", loss, lr, tokensPerSecond, Self.duration(eta))
        if isTerminal {
            let width = 24, filled = total > 0 ? min(width, width * step / total) : 0
            let bar = "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "]"
            let line = "\r\(bar) \(step)/\(total)  \(stats)"
            FileHandle.standardOutput.write(Data((line + String(repeating: " ", count: max(0, lastBar.count - line.count))).utf8))
            lastBar = line
        } else {
            print("step \(step)/\(total)  \(stats)")
        }
    }

    /// A line that must stay visible (evaluation results, checkpoints, warnings).
    public func say(_ text: String) {
        if isTerminal && !lastBar.isEmpty { FileHandle.standardOutput.write(Data("\n".utf8)); lastBar = "" }
        print(text)
        fflush(stdout)
    }

    public static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }
}
