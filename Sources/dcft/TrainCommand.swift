import ArgumentParser
import Foundation
import Collectives
import Train
import TensorCore

/// `dcft train`: data-parallel fine-tuning from a YAML config, launched with mpirun.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune under mpirun from a YAML config.",
        discussion: """
            mpirun -np N dcft train --config configs/glue/rte.yaml [--set train.lr=1e-3 ...]
            Every key is listed by `dcft train --list-keys`. A failure on any rank stops the whole job
            with a message naming the rank and the cause.
            """)

    @Option(help: "YAML configuration file.") var config: String?
    @Option(name: .customLong("set"), help: "Override a key: --set train.lr=1e-3 (repeatable).") var overrides: [String] = []
    @Option(help: "Resume from a checkpoint file, or 'auto' for the newest in output_dir.") var resume: String?
    @Option(help: "Stop after this many steps of this run (for testing resume).") var stopAfter: Int?
    @Flag(help: "Print every configuration key with its type, default and meaning.") var listKeys = false

    func run() throws {
        if listKeys { print(ConfigSchema.markdown, terminator: ""); return }
        guard config != nil || !overrides.isEmpty else { throw ValidationError("give --config FILE (and/or --set key=value)") }
        Preemption.install()   // before anything slow: a signal during start-up stops at the first step
        let comm = try Communicator.world()
        var preempted = false
        do {
            try checkBLAS { line in if comm.rank == 0 { print(line) } }
            let cfg = try TrainConfig.load(file: config, overrides: overrides)
            let trainer = try Trainer(config: cfg, comm: comm, resume: resume)
            let s = try trainer.run(stopAfter: stopAfter)
            if s.preempted {
                preempted = true
                if comm.rank == 0 { print("preempted after step \(s.steps) of \(trainer.totalSteps): exit \(Preemption.exitCode) (resumable with --resume auto)") }
            }
            let rss = try comm.gather([Int64(Plan.peakRSS())], root: 0)
            if comm.rank == 0 {
                let metrics = s.report.map { r in r.values.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", ") } ?? "none"
                print(String(format: "done: %d steps in %.1f s; final loss %.4f; best %@ %.4f at step %d; last eval: %@",
                             s.steps, s.seconds, s.finalLoss, trainer.task.metricNames.first ?? "", s.best, s.bestStep, metrics))
                if let rss { print(String(format: "peak memory per rank: %.0f MiB (largest of %d)", Double(rss.max() ?? 0) / 1048576, rss.count)) }
            }
        } catch {
            if comm.size > 1 { comm.abort("\(error)") }
            throw error
        }
        if preempted {   // every rank, after a clean stop; rank 0's output is out before any rank exits non-zero
            fflush(stdout)
            _ = try comm.broadcast([Int32(0)], root: 0)
            throw ExitCode(Preemption.exitCode)
        }
    }
}

/// `dcft eval`: evaluates a checkpoint on the config's dev sets.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a checkpoint on the dev set(s) of a config (distributed under mpirun).")
    @Option(help: "YAML configuration file.") var config: String
    @Option(name: .customLong("set"), help: "Override a key (repeatable).") var overrides: [String] = []
    @Option(help: "Checkpoint file (.h5) to evaluate.") var checkpoint: String

    func run() throws {
        let comm = try Communicator.world()
        do {
            try checkBLAS { line in if comm.rank == 0 { print(line) } }
            let cfg = try TrainConfig.load(file: config, overrides: overrides)
            let trainer = try Trainer(config: cfg, comm: comm, resume: checkpoint)
            let r = try trainer.evaluate()
            if comm.rank == 0 {
                print(r.values.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  "))
            }
        } catch {
            if comm.size > 1 { comm.abort("\(error)") }
            throw error
        }
    }
}
