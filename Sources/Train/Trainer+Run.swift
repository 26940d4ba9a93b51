import Foundation
import Collectives
import DataPipeline
import Model
import TensorCore

extension Trainer {
    /// What a finished run reports.
    public struct Summary: Sendable {
        public var steps: Int
        public var finalLoss: Double
        public var best: Double
        public var bestStep: Int
        public var report: MetricReport?
        public var seconds: Double
        /// Stopped early by a preemption signal, after writing a checkpoint (`Preemption`).
        public var preempted = false
    }

    /// Trains to `totalSteps` (or `stopAfter` steps of this run, for tests of resuming): the
    /// shared `TrainingStep`, then logging, and the evaluation schedule's evaluations and
    /// checkpoints.
    public func run(stopAfter: Int? = nil) throws -> Summary {
        let t0 = Date()
        var plans = sampler.plans(epoch: epoch)
        let accum = config.train.accumulation, logEvery = config.log.everySteps
        var windowLoss = 0.0, windowSteps = 0, windowTokens = 0.0, windowStart = Date()
        var lastLoss = Double.nan
        let startStep = step
        let recordEvery = config.log.recordEvery > 0 ? config.log.recordEvery : logEvery
        var window = RecordWindow()
        var clock = CheckpointClock(minutes: config.checkpoint.everyMinutes)
        var preempted = false, slowestStep = 0.0
        while step < totalSteps {
            if let stop = stopAfter, step - startStep >= stop { break }
            let stepStart = Date()
            if position >= plans.count { epoch += 1; position = 0; plans = sampler.plans(epoch: epoch) }
            let batches = try plans[position..<(position + accum)].map { try train.batch($0.indices, valid: $0.valid) }
            position += accum
            let lr = schedule.lr(at: step)
            // The hang watchdog's deadline: the configured floor, or 20 × the slowest step so far.
            if config.train.watchdogSeconds > 0 { trainingStep.watchdogSeconds = max(config.train.watchdogSeconds, 20 * slowestStep) }
            let r = try trainingStep.run(batches, step: step, lr: lr, rng: &rng)
            let balance = try trainingStep.balance(of: r)   // rank 0: compute spread, transfer vs wait
            step += 1
            losses[step] = r.loss
            lastLoss = r.loss
            windowLoss += r.loss; windowSteps += 1; windowTokens += r.tokens

            let stepSeconds = Date().timeIntervalSince(stepStart)
            slowestStep = max(slowestStep, stepSeconds)
            var record: [String: Any] = ["step": step, "epoch": epoch, "loss": r.loss, "lr": lr, "grad_norm": r.gradNorm,
                                         "tokens": r.tokens, "tokens_per_second": r.tokens / max(stepSeconds, 1e-9),
                                         "step_ms": stepSeconds * 1000, "allreduce_bytes": r.allreduceBytes,
                                         "allreduce_ms": r.allreduceSeconds * 1000, "compute_ms": r.computeSeconds * 1000,
                                         "update_ms": r.updateSeconds * 1000]
            if let b = balance {
                record["transfer_ms"] = b.transfer * 1000; record["wait_ms"] = b.waitRank0 * 1000; record["wait_max_ms"] = b.waitMax * 1000
                record["compute_min_ms"] = b.computeMin * 1000; record["compute_median_ms"] = b.computeMedian * 1000
                record["compute_max_ms"] = b.computeMax * 1000
            }
            window.add(record)
            if step % recordEvery == 0 || step == totalSteps || step - startStep == stopAfter, let summary = window.take() {
                log?.record(summary)
            }
            if step % logEvery == 0 || step == totalSteps {
                let dt = Date().timeIntervalSince(windowStart)
                log?.progress(step: step, total: totalSteps, loss: windowLoss / Double(max(windowSteps, 1)), lr: lr,
                              tokensPerSecond: windowTokens / max(dt, 1e-9))
                windowLoss = 0; windowSteps = 0; windowTokens = 0; windowStart = Date()
            }

            // A checkpoint's log holds every step up to it (a resumed run keeps the records up to its step).
            func flushRecords() { if let summary = window.take() { log?.record(summary) } }
            switch evaluationSchedule.action(after: step, of: totalSteps, epochEnded: position >= plans.count) {
            case .evaluate:
                flushRecords()
                let report = try evaluate()
                lastReport = report
                let value = report.headlineValue
                let improved = value > best || bestStep < 0
                if improved { best = value; bestStep = step }
                log?.record(["step": step, "epoch": epoch, "eval": report.values, "headline": report.headline, "best": best])
                log?.say("eval step \(step) epoch \(epoch): " + report.values.sorted { $0.key < $1.key }
                    .map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  ") + (improved ? "  (best)" : ""))
                try saveCheckpoint(isBest: improved)
                clock.reset()
            case .checkpoint:
                flushRecords()
                try saveCheckpoint(isBest: false)
                clock.reset()
            case .none:
                // Preemption (every rank learned it in this step's allreduce): checkpoint and stop
                // (after the last step the run is simply finished).
                if r.stopRequested && step < totalSteps {
                    flushRecords()
                    try saveCheckpoint(isBest: false)
                    preempted = true
                    let sig = Preemption.signal
                    log?.say("preempted after step \(step)\(sig != 0 ? " (signal \(sig) on rank 0)" : ""): checkpoint written; resume with --resume auto")
                    break
                }
                // Rank 0's clock decides for every rank (saving gathers from all of them).
                if clock.enabled, try comm.broadcast([Int32(comm.rank == 0 && clock.due ? 1 : 0)], root: 0)[0] == 1 {
                    flushRecords()
                    try saveCheckpoint(isBest: false)
                    log?.say("checkpoint step \(step) (every \(config.checkpoint.everyMinutes) min)")
                    clock.reset()
                }
            }
            if r.stopRequested && step < totalSteps {   // (a scheduled checkpoint was just written)
                if !preempted { log?.say("preempted after step \(step): checkpoint written; resume with --resume auto") }
                preempted = true
                break
            }
        }
        if step >= totalSteps, comm.rank == 0 {
            try AdapterFile.write(model: model, to: outputDir + "/adapter.safetensors", baseModelSHA256: baseSHA,
                                  labelNames: task.labelNames, task: task.name,
                                  textField: task.inputFields?.text, pairField: task.inputFields?.pair)
        }
        return Summary(steps: step, finalLoss: lastLoss, best: best, bestStep: bestStep, report: lastReport,
                       seconds: Date().timeIntervalSince(t0), preempted: preempted)
    }

    /// Writes a checkpoint of the current state through the checkpoint manager (rank 0; every
    /// rank sends its RNG state).
    func saveCheckpoint(isBest: Bool) throws {
        let states = try comm.gather(rng.stateWords, root: 0)
        guard comm.rank == 0, let states else { return }
        let perRank: [[UInt64]] = (0..<comm.size).map { r in Array(states[(r * 4)..<(r * 4 + 4)]) }
        let c = Checkpoint(model: model, optimizer: optimizer, step: step, epoch: epoch, position: position,
                           worldSize: comm.size, baseModelSHA256: baseSHA, config: config.yaml, bestMetric: best,
                           bestStep: bestStep, metricName: task.metricNames.first ?? "", rngStates: perRank)
        let shapes = Dictionary(uniqueKeysWithValues: model.store.entries.filter(\.ref.trainable).map { ($0.name, $0.shape) })
        try checkpoints.save(c, shapes: shapes, isBest: isBest)
    }

    /// The evaluation forward's cost on this rank (`dcft plan`): seconds per padded token (rows ×
    /// the batch's length), timed on about 1/`stride` of the dev batches — five contiguous runs
    /// spread over the longest-first order `evaluate` uses, the first batch of each run untimed.
    /// Runs, not scattered batches: consecutive batches share lengths and reuse their buffers,
    /// as in a real evaluation; scattered ones each pay for new sizes (2.5× the cost measured).
    public func evaluationSecondsPerToken(stride: Int) throws -> Double {
        var rng = SeededRNG(seed: 0)
        var seconds = 0.0, tokens = 0
        for ds in devs {
            let s = Trainer.evaluationSampler(lengths: ds.lengths, batchSize: config.eval.batchSize, worldSize: comm.size, rank: comm.rank)
            let plans = Array(s.plans(epoch: 0).reversed())
            let run = max(2, plans.count / max(1, stride) / 5)
            for start in Set((0..<5).map { min(plans.count - 1, $0 * plans.count / 5) }).sorted() {
                for (k, plan) in plans[start..<min(plans.count, start + run)].enumerated() {
                    let b = try ds.batch(plan.indices, valid: plan.valid)
                    let t0 = Date()
                    _ = try model.forward(inputIDs: b.inputIDs, tokenTypeIDs: b.tokenTypeIDs, attentionMask: b.attentionMask,
                                          batch: b.rows, length: b.length, training: false, rng: &rng)
                    if k == 0 { continue }
                    seconds += Date().timeIntervalSince(t0)
                    tokens += b.rows * b.length
                }
            }
        }
        return seconds / Double(max(tokens, 1))
    }

    /// Distributed evaluation on every dev set: each rank predicts its share (filler rows
    /// masked so every example counts once), predictions are gathered to rank 0 for the
    /// metrics, and the metric values are broadcast so every rank agrees on "best".
    public func evaluate() throws -> MetricReport {
        var predictions: [[Float]] = [], labels: [[Float]] = []
        var evalRNG = SeededRNG(seed: 0)
        for ds in devs {
            let s = Trainer.evaluationSampler(lengths: ds.lengths, batchSize: config.eval.batchSize, worldSize: comm.size, rank: comm.rank)
            var idx: [Int64] = [], vals: [Float] = []
            let k = task.numLabels
            // Longest batches first: activation buffers reach their final size at once.
            for plan in s.plans(epoch: 0).reversed() {
                let b = try ds.batch(plan.indices, valid: plan.valid)
                let out = try model.forward(inputIDs: b.inputIDs, tokenTypeIDs: b.tokenTypeIDs, attentionMask: b.attentionMask,
                                            batch: b.rows, length: b.length, training: false, rng: &evalRNG)
                for r in 0..<b.rows where plan.valid[r] {
                    idx.append(Int64(plan.indices[r]))
                    if k == 1 { vals.append(out[r]) } else {
                        var best = 0
                        for c in 1..<k where out[r * k + c] > out[r * k + best] { best = c }
                        vals.append(Float(best))
                    }
                }
            }
            let allIdx = try comm.gatherv(idx, root: 0), allVals = try comm.gatherv(vals, root: 0)
            if let allIdx, let allVals {
                var pred = [Float](repeating: .nan, count: ds.count)
                for (i, v) in zip(allIdx.joined(), allVals.joined()) { pred[Int(i)] = v }
                predictions.append(pred)
                labels.append(ds.labels)
            }
        }
        var values: [Double] = []
        var names: [String] = []
        var headline = task.metricNames.first ?? "accuracy"
        if comm.rank == 0 {
            let r = task.report(predictions: predictions, labels: labels)
            names = r.values.keys.sorted()
            values = names.map { r.values[$0]! }
            headline = r.headline
        }
        let count = try comm.broadcast([Int32(values.count)], root: 0)[0]
        var buf = comm.rank == 0 ? values : [Double](repeating: 0, count: Int(count))
        try buf.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: 0) }
        if comm.rank != 0 {
            // The metric names depend only on the task and the number of dev sets: a report on
            // placeholder predictions gives the same keys rank 0 computed.
            let shape = task.report(predictions: devs.map { [Float](repeating: 0, count: $0.count) }, labels: devs.map(\.labels))
            names = shape.values.keys.sorted()
            headline = shape.headline
        }
        return MetricReport(values: Dictionary(uniqueKeysWithValues: zip(names, buf)), headline: headline)
    }
}
