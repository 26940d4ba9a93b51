import Foundation
import Collectives
import DataPipeline
import Model
import TensorCore

/// A step whose loss or gradient is NaN or infinite; the weights were not updated.
public struct NonFiniteError: Error, CustomStringConvertible {
    public let step: Int
    public let ranks: [Int]
    public var description: String {
        "non-finite loss or gradient at step \(step) on rank(s) \(ranks.map(String.init).joined(separator: ", ")); the weights were not updated"
    }
}

extension Trainer {
    /// What a finished run reports.
    public struct Summary: Sendable {
        public var steps: Int
        public var finalLoss: Double
        public var best: Double
        public var bestStep: Int
        public var report: MetricReport?
        public var seconds: Double
    }

    /// Trains to `totalSteps` (or `stopAfter` steps of this run, for tests of resuming).
    public func run(stopAfter: Int? = nil) throws -> Summary {
        let t0 = Date()
        var plans = sampler.plans(epoch: epoch)
        let accum = config.int("train.accumulation"), logEvery = config.int("log.every_steps")
        let evalEvery = config.int("eval.every_steps"), ckptEvery = config.int("checkpoint.every_steps")
        let orth = OrthogonalityPenalty(rawValue: config.string("train.orth_penalty"))!
        let gamma = Float(config.double("train.orth_gamma"))
        let maxNorm = config.double("train.max_grad_norm")
        let n = model.store.trainableParameterCount
        var windowLoss = 0.0, windowSteps = 0, windowTokens = 0.0, windowStart = Date()
        var lastLoss = Double.nan
        let startStep = step
        var stepStart = Date()
        while step < totalSteps {
            stepStart = Date()
            if let stop = stopAfter, step - startStep >= stop { break }
            if position >= plans.count { epoch += 1; position = 0; plans = sampler.plans(epoch: epoch) }
            let commBefore = comm.stats.allreduce

            // Forward and backward over the accumulation micro-batches.
            model.store.gradients.zero()
            var lossSum: Float = 0, tokens = 0
            for _ in 0..<accum {
                let plan = plans[position]
                position += 1
                let b = try train.batch(plan.indices, valid: plan.valid)
                try model.forward(inputIDs: b.inputIDs, tokenTypeIDs: b.tokenTypeIDs, attentionMask: b.attentionMask,
                                  batch: b.rows, length: b.length, training: true, rng: &rng)
                let (loss, dLogits) = try model.loss(labels: b.labels, valid: b.valid, normalizer: perRankBatch * accum)
                model.backward(dLogits: dLogits)
                lossSum += loss
                tokens += b.tokenCount
            }
            lossSum += orth.apply(store: model.store, adapters: model.dcftAdapters, gamma: gamma)
            injectFault(step: step, loss: &lossSum)
            if let f = faultToThrow { throw f }

            // One allreduce: gradients + [loss sum, tokens, non-finite flag].
            let g = model.store.gradients.pointer
            var finite = lossSum.isFinite
            if finite { for i in 0..<n where !g[i].isFinite { finite = false; break } }
            let extra = model.store.extraSlots
            extra[0] = lossSum; extra[1] = Float(tokens); extra[2] = finite ? 0 : 1; extra[3] = 0
            try comm.allreduce(model.store.gradients.buffer)
            if extra[2] > 0 || !extra[0].isFinite {
                var flags = [Int32](repeating: 0, count: comm.size)
                flags[comm.rank] = finite ? 0 : 1
                try comm.allreduce(&flags, op: .max)
                throw NonFiniteError(step: step, ranks: flags.indices.filter { flags[$0] != 0 })
            }
            let inv = 1 / Float(comm.size)
            for i in 0..<n { g[i] *= inv }
            let meanLoss = Double(extra[0]) / Double(comm.size), globalTokens = Double(extra[1])
            let norm = GradientClipping.clip(g, count: n, maxNorm: maxNorm)
            let lr = schedule.lr(at: step)
            optimizer.update(params: model.store.trainable.pointer, grads: g, lr: Float(lr))
            step += 1
            losses[step] = meanLoss
            lastLoss = meanLoss
            windowLoss += meanLoss; windowSteps += 1; windowTokens += globalTokens

            let commStep = comm.stats.allreduce
            let stepSeconds = Date().timeIntervalSince(stepStart)
            log?.record(["step": step, "epoch": epoch, "loss": meanLoss, "lr": lr, "grad_norm": norm, "tokens": globalTokens,
                         "tokens_per_second": globalTokens / max(stepSeconds, 1e-9), "step_ms": stepSeconds * 1000,
                         "allreduce_bytes": commStep.bytes - commBefore.bytes,
                         "allreduce_ms": (commStep.seconds - commBefore.seconds) * 1000])
            if step % logEvery == 0 || step == totalSteps {
                let dt = Date().timeIntervalSince(windowStart)
                log?.progress(step: step, total: totalSteps, loss: windowLoss / Double(max(windowSteps, 1)), lr: lr,
                              tokensPerSecond: windowTokens / max(dt, 1e-9))
                windowLoss = 0; windowSteps = 0; windowTokens = 0; windowStart = Date()
            }

            let epochEnd = position >= plans.count
            let evalDue = epochEnd || (evalEvery > 0 && step % evalEvery == 0) || step == totalSteps
            if evalDue {
                let report = try evaluate()
                lastReport = report
                let value = report.headlineValue
                let improved = value > best || bestStep < 0
                if improved { best = value; bestStep = step }
                log?.record(["step": step, "epoch": epoch, "eval": report.values, "headline": report.headline, "best": best])
                log?.say("eval step \(step) epoch \(epoch): " + report.values.sorted { $0.key < $1.key }
                    .map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  ") + (improved ? "  (best)" : ""))
                try saveCheckpoint(isBest: improved)
            } else if ckptEvery > 0 && step % ckptEvery == 0 {
                try saveCheckpoint(isBest: false)
            }
        }
        if step >= totalSteps, comm.rank == 0 {
            try AdapterFile.write(model: model, to: outputDir + "/adapter.safetensors", baseModelSHA256: baseSHA,
                                  labelNames: task.labelNames, task: task.name,
                                  textField: task.inputFields?.text, pairField: task.inputFields?.pair)
        }
        return Summary(steps: step, finalLoss: lastLoss, best: best, bestStep: bestStep, report: lastReport,
                       seconds: Date().timeIntervalSince(t0))
    }

    /// Failure injection for the tests (environment `DCFT_FAULT=kind:rank:step`): `kill` makes
    /// that rank die by SIGKILL at that step, `nan` makes its loss NaN, `throw` raises an error
    /// (as a disk-full or bad-data failure would).
    func injectFault(step: Int, loss: inout Float) {
        guard let spec = ProcessInfo.processInfo.environment["DCFT_FAULT"] else { return }
        let parts = spec.split(separator: ":").map(String.init)
        guard parts.count == 3, Int(parts[1]) == comm.rank, Int(parts[2]) == step else { return }
        switch parts[0] {
        case "kill": kill(getpid(), SIGKILL)
        case "nan": loss = .nan
        case "throw": faultToThrow = CheckpointError(file: "DCFT_FAULT", problem: "injected failure at step \(step)")
        default: break
        }
    }

    /// Writes `ckpt-stepNNNNNNNN.h5` (rank 0; every rank sends its RNG state), keeps the last
    /// `checkpoint.keep_last`, and links the best to `best.h5`.
    func saveCheckpoint(isBest: Bool) throws {
        let states = try comm.gather(rng.stateWords, root: 0)
        guard comm.rank == 0, let states else { return }
        let perRank: [[UInt64]] = (0..<comm.size).map { r in Array(states[(r * 4)..<(r * 4 + 4)]) }
        let c = Checkpoint(model: model, optimizer: optimizer, step: step, epoch: epoch, position: position,
                           worldSize: comm.size, baseModelSHA256: baseSHA, config: config.yaml, bestMetric: best,
                           bestStep: bestStep, metricName: task.metricNames.first ?? "", rngStates: perRank)
        let name = String(format: "ckpt-step%08d.h5", step)
        let path = outputDir + "/" + name
        let shapes = Dictionary(uniqueKeysWithValues: model.store.entries.filter(\.ref.trainable).map { ($0.name, $0.shape) })
        try c.write(to: path, shapes: shapes)
        if isBest {
            let tmp = outputDir + "/.best.h5.tmp"
            unlink(tmp)
            if link(path, tmp) != 0 { throw CheckpointError(file: path, problem: "cannot link the best checkpoint: \(String(cString: strerror(errno)))") }
            rename(tmp, outputDir + "/best.h5")
        }
        let keep = config.int("checkpoint.keep_last")
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: outputDir)) ?? [])
            .filter { $0.hasPrefix("ckpt-step") && $0.hasSuffix(".h5") }.sorted()
        for old in all.dropLast(max(keep, 1)) { unlink(outputDir + "/" + old) }
    }

    /// Distributed evaluation on every dev set: each rank predicts its share (filler rows
    /// masked so every example counts once), predictions are gathered to rank 0 for the
    /// metrics, and the metric values are broadcast so every rank agrees on "best".
    public func evaluate() throws -> MetricReport {
        var predictions: [[Float]] = [], labels: [[Float]] = []
        var evalRNG = SeededRNG(seed: 0)
        for ds in devs {
            let s = EpochSampler(lengths: ds.lengths, perRankBatch: config.int("eval.batch_size"), worldSize: comm.size,
                                 rank: comm.rank, seed: 0, shuffle: false, bucketWindow: 1_000_000, fill: .mask)
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
