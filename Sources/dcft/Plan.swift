import ArgumentParser
import Foundation
import Collectives
import DataPipeline
import Train
import TensorCore

/// `dcft plan`: what a training run will cost, before it starts — from the prepared data (every
/// rank's batches of every epoch, exactly as the run's sampler will draw them) and a short
/// measured warm-up of the run's own training step at the planned per-rank batch.
///
/// Model: a step's compute = (padded tokens of the busiest rank) × the median over the warm-up
/// steps of their seconds per padded token (a median: the first steps also pay for buffers
/// that grow with the batches' lengths, and the machine may be shared; a least-squares
/// c0 + c1·tokens fit moved the estimate by 20% between two runs);
/// its allreduce, across nodes, a ring over the link (`--link-gbps`, `--latency-us`;
/// docs/PERFORMANCE.md "Across nodes": 90% of line rate, 2·(p−1) latency steps); ranks on one
/// node, shared memory (free at these sizes). An evaluation = its forward's seconds per padded
/// token (timed on a sample of the dev batches) × rank 0's padded dev tokens at the planned
/// world size. The warm-up runs with the run's threads per rank
/// (`train.threads`, else cores ÷ ranks per node). Peak memory = this process's peak RSS after
/// the warm-up plus one forward/backward on the epoch's longest step and one evaluation forward
/// on the longest dev batch (measured, not scaled: buffers keep their largest size).
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Estimate a run's steps, time, checkpoints, disk and memory before starting it.",
        discussion: """
            dcft plan --config configs/glue/mnli.yaml --nodes 16 [--ranks-per-node 1] [--link-gbps 10]
            Runs a few training steps on this machine (one process) at the planned per-rank batch.
            """)

    @Option(help: "YAML configuration file.") var config: String
    @Option(name: .customLong("set"), help: "Override a key (repeatable).") var overrides: [String] = []
    @Option(help: "Nodes of the planned run.") var nodes: Int = 1
    @Option(help: "Ranks per node (the launchers' rule: PEFT one per core).") var ranksPerNode: Int = 1
    @Option(help: "Link speed between nodes, Gb/s.") var linkGbps: Double = 10
    @Option(help: "Latency per allreduce step between nodes, µs.") var latencyUs: Double = 30
    @Option(help: "Measured warm-up steps (after one unmeasured step).") var warmupSteps: Int = 20
    @Option(help: "Time about 1/N of the dev batches for the evaluation estimate (1: all).") var evalSample: Int = 10

    func validate() throws {
        if nodes < 1 || ranksPerNode < 1 { throw ValidationError("--nodes and --ranks-per-node must be at least 1") }
        if warmupSteps < 1 { throw ValidationError("--warmup-steps must be at least 1") }
    }

    func run() throws {
        let comm = try Communicator.world()
        try checkBLAS { print($0) }
        let planned = try TrainConfig.load(file: config, overrides: overrides)
        let world = nodes * ranksPerNode, accum = planned.train.accumulation
        guard planned.train.batchSize % (world * accum) == 0 else {
            throw ValidationError("train.batch_size \(planned.train.batchSize) is not divisible by ranks × accumulation = \(world) × \(accum)")
        }
        let perRank = planned.train.batchSize / (world * accum)
        let train = try TokenizedDataset(directory: planned.data.train)
        let devs = try planned.data.dev.map { try TokenizedDataset(directory: $0) }

        // Every rank's batches, as the run will draw them (epoch 0; later epochs differ in order only).
        let samplers = (0..<world).map {
            EpochSampler(lengths: train.lengths, perRankBatch: perRank, worldSize: world, rank: $0, accumulation: accum,
                         seed: UInt64(planned.train.seed), bucketWindow: planned.train.bucketWindow)
        }
        let stepsPerEpoch = samplers[0].stepsPerEpoch
        let totalSteps = Trainer.totalSteps(planned.train, stepsPerEpoch: stepsPerEpoch)
        func padded(_ p: EpochSampler.Plan, _ lengths: [Int]? = nil) -> Int {
            let l = lengths ?? train.lengths
            return (p.indices.map { l[$0] }.max() ?? 0) * p.indices.count
        }
        var busiest = [Int](repeating: 0, count: stepsPerEpoch)   // padded tokens of the busiest rank, per step
        var longestMicro: [EpochSampler.Plan] = []                  // that rank's micro-batches at the longest step
        var realTokens = 0
        for s in samplers {
            let plans = s.plans(epoch: 0)
            for k in 0..<stepsPerEpoch {
                let micro = plans[(k * accum)..<min(plans.count, (k + 1) * accum)]
                let tokens = micro.reduce(0) { $0 + padded($1) }
                if tokens > (busiest.max() ?? 0) { longestMicro = Array(micro) }
                busiest[k] = max(busiest[k], tokens)
            }
            realTokens += plans.reduce(0) { acc, p in acc + zip(p.indices, p.valid).reduce(0) { $0 + ($1.1 ? train.lengths[$1.0] : 0) } }
        }
        let longestStep = busiest.max() ?? 0

        // Warm-up: this machine, one process, the planned per-rank batch.
        let tmp = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                              appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true).path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let threads = planned.train.threads > 0 ? planned.train.threads : max(1, ProcessInfo.processInfo.activeProcessorCount / ranksPerNode)
        let warm = try TrainConfig.load(file: config, overrides: overrides + ["train.threads=\(threads)",
            "output_dir=\(tmp)", "train.batch_size=\(perRank * accum)", "eval.every_steps=0", "checkpoint.every_steps=\(warmupSteps + 1)",
            "checkpoint.every_minutes=0", "log.record_every=1", "log.progress=plain", "log.every_steps=1000000",
            "train.max_steps=\(warmupSteps + 2)"])
        let trainer = try Trainer(config: warm, comm: comm)
        _ = try trainer.run(stopAfter: warmupSteps + 1)
        let records = try String(contentsOfFile: tmp + "/log.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.filter { $0["loss"] != nil }
        let measured = records.dropFirst()   // the first step pays one-time costs
        let warmPlans = trainer.sampler.plans(epoch: 0)
        var xs: [Double] = [], ys: [Double] = []
        for (k, r) in measured.enumerated() {
            xs.append(Double(warmPlans[((k + 1) * accum)..<((k + 2) * accum)].reduce(0) { $0 + padded($1) }))
            ys.append(((r["compute_ms"] as? NSNumber)?.doubleValue ?? 0) / 1000 + ((r["update_ms"] as? NSNumber)?.doubleValue ?? 0) / 1000)
        }
        let perToken = zip(ys, xs).map { $0 / max($1, 1) }.sorted()[xs.count / 2]
        let stepSeconds = ys.reduce(0, +)
        let maxWarm = Int(xs.max() ?? 1)
        let rssWarm = Self.peakRSS()
        // Peak memory, measured rather than extrapolated: after the warm-up, one step's forward
        // and backward on the epoch's longest micro-batches and one evaluation forward on the
        // longest dev batch any rank gets at the planned world size, in this process (activation
        // buffers grow to the largest shape seen and stay, so the peak is theirs plus the rest).
        var peakRNG = SeededRNG(seed: 0)
        if longestMicro.count == accum {
            _ = try trainer.trainingStep.computeGradients(longestMicro.map { try train.batch($0.indices, valid: $0.valid) }, rng: &peakRNG)
        }
        var longestEval: (TokenizedDataset, EpochSampler.Plan)?
        for d in devs {
            for r in 0..<world {
                for p in Trainer.evaluationSampler(lengths: d.lengths, batchSize: planned.eval.batchSize, worldSize: world, rank: r).plans(epoch: 0)
                where padded(p, d.lengths) > longestEval.map({ padded($0.1, $0.0.lengths) }) ?? 0 { longestEval = (d, p) }
            }
        }
        if let (d, p) = longestEval {
            let b = try d.batch(p.indices, valid: p.valid)
            _ = try trainer.model.forward(inputIDs: b.inputIDs, tokenTypeIDs: b.tokenTypeIDs, attentionMask: b.attentionMask,
                                          batch: b.rows, length: b.length, training: false, rng: &peakRNG)
        }
        let peak = Self.peakRSS()
        // An evaluation: its forward's cost per padded token, timed on a sample of the dev
        // batches, times the padded tokens of rank 0's share at the planned world size.
        let evalPerToken = try trainer.evaluationSecondsPerToken(stride: evalSample)
        let evalTokens = devs.reduce(0) { acc, d in
            acc + Trainer.evaluationSampler(lengths: d.lengths, batchSize: planned.eval.batchSize, worldSize: world, rank: 0).plans(epoch: 0)
                .reduce(0) { $0 + padded($1, d.lengths) }
        }
        let evalSeconds = evalPerToken * Double(evalTokens)
        let ckptFiles = CheckpointManager(directory: tmp, keepLast: 1).checkpoints()
        let ckptBytes = try ckptFiles.last.map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? 0 } ?? 0
        let bytes = trainer.trainingStep.allreduceBytes

        // Communication: a ring across nodes at 90% of line rate; nothing within a node.
        let p = Double(nodes)
        let allreduce = nodes == 1 ? 0 : 2 * (p - 1) * latencyUs * 1e-6 + 2 * (p - 1) / p * Double(bytes) / (linkGbps * 1e9 / 8 * 0.9)
        let computeEpoch = busiest.reduce(0.0) { $0 + perToken * Double($1) }
        let trainEpoch = computeEpoch + Double(stepsPerEpoch) * allreduce
        let epochs = Double(totalSteps) / Double(stepsPerEpoch)
        // Evaluations: at epoch ends, every eval.every_steps, and at the last step (each once).
        var evalSteps = Set([totalSteps])
        for s in stride(from: stepsPerEpoch, through: totalSteps, by: stepsPerEpoch) { evalSteps.insert(s) }
        if planned.eval.everySteps > 0 { for s in stride(from: planned.eval.everySteps, through: totalSteps, by: planned.eval.everySteps) { evalSteps.insert(s) } }
        let evals = evalSteps.count
        let stepCkpts = planned.checkpoint.everySteps > 0 ? totalSteps / planned.checkpoint.everySteps : 0
        let total = trainEpoch * epochs + Double(evals) * evalSeconds
        let timeCkpts = planned.checkpoint.everyMinutes > 0 ? Int(total / (planned.checkpoint.everyMinutes * 60)) : 0
        let kept = planned.checkpoint.keepLast + 1
        let logBytes = (totalSteps / max(planned.log.recordEvery > 0 ? planned.log.recordEvery : planned.log.everySteps, 1) + evals) * 700

        func gib(_ b: Int) -> String { String(format: "%.2f GiB", Double(b) / Double(1 << 30)) }
        func mib(_ b: Int) -> String { String(format: "%.1f MiB", Double(b) / Double(1 << 20)) }
        let rows: [(String, String)] = [
            ("train examples", "\(train.count) (\(devs.map { "\($0.count)" }.joined(separator: " + ")) dev)"),
            ("ranks", "\(world) = \(nodes) node(s) × \(ranksPerNode); per-rank batch \(perRank) × accumulation \(accum)"),
            ("steps", "\(totalSteps) (\(stepsPerEpoch) per epoch, \(String(format: "%.2f", epochs)) epochs)"),
            ("tokens per epoch", "\(realTokens) real, \(busiest.reduce(0, +) * world) padded at most (dynamic padding)"),
            ("measured", String(format: "%d warm-up steps at %d thread(s): %.0f ms per step, median %.1f µs per padded token", measured.count,
                                threads, stepSeconds * 1000 / Double(measured.count), perToken * 1e6)),
            ("allreduce per step", String(format: "%d bytes, %.2f ms (%@)", bytes, allreduce * 1000,
                                          nodes == 1 ? "one node" : String(format: "%d nodes at %.0f Gb/s", nodes, linkGbps))),
            ("time per epoch", RunLog.duration(trainEpoch) + String(format: " (compute %@, allreduce %.0f%%)", RunLog.duration(computeEpoch),
                                                                  100 * (trainEpoch - computeEpoch) / max(trainEpoch, 1e-9))),
            ("evaluation", "\(evals) × " + RunLog.duration(evalSeconds) + String(format: " (%.1f µs per padded token, %d padded tokens per rank)", evalPerToken * 1e6, evalTokens)),
            ("total", RunLog.duration(total)),
            ("checkpoints", "\(evals + stepCkpts + timeCkpts) written (\(evals) at evaluations, \(stepCkpts) by steps, \(timeCkpts) by time), \(mib(ckptBytes)) (\(ckptBytes) bytes) each, \(kept) kept"),
            ("disk", mib(kept * ckptBytes + logBytes) + " in \(planned.outputDir) (checkpoints kept + log)"),
            ("peak memory per rank", gib(peak) + " (measured: a step on the longest batches, \(longestStep) padded tokens, and an evaluation"
                + " on the longest dev batch, \(longestEval.map { padded($0.1, $0.0.lengths) } ?? 0); warm-up peak \(gib(rssWarm)) at \(maxWarm))"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        print("dcft plan: \(planned.task) on \(planned.model)")
        for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
    }

    /// Peak resident set size of this process, bytes.
    static func peakRSS() -> Int {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return u.ru_maxrss * 1024
    }
}
