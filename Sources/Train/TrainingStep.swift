import Foundation
import Collectives
import DataPipeline
import Model
import TensorCore

/// The collective a training step needs: a sum-allreduce of one float buffer, and a
/// max-allreduce of per-rank flags (to name the ranks that failed). `Communicator` is the MPI
/// implementation; `LocalReducer` is the single-process one (tests, tools).
public protocol GradientReducer: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    func sumAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// The same with a deadline: waiting longer than `timeout` seconds (> 0) stops the job
    /// naming the ranks that never arrived (the hang watchdog).
    func sumAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, timeout: Double, label: String) throws
    func maxAllreduce(_ flags: inout [Int32]) throws
    /// Every rank's `values` concatenated in rank order, on rank 0 (nil elsewhere).
    func gatherToRoot(_ values: [Double]) throws -> [Double]?
    /// Allreduce calls, bytes and seconds so far.
    var allreduceStats: CollectiveStats.Entry { get }
}

extension GradientReducer {
    /// The sum-allreduce with a deadline (`Communicator.watchedAllreduce`); without one, plain.
    public func sumAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, timeout: Double, label: String) throws {
        try sumAllreduce(buffer)
    }
}

extension Communicator: GradientReducer {
    public func sumAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws { try allreduce(buffer) }
    public func sumAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, timeout: Double, label: String) throws {
        try watchedAllreduce(buffer, timeout: timeout, label: label)
    }
    public func maxAllreduce(_ flags: inout [Int32]) throws { try allreduce(&flags, op: .max) }
    public func gatherToRoot(_ values: [Double]) throws -> [Double]? { try gather(values, root: 0) }
    public var allreduceStats: CollectiveStats.Entry { stats.allreduce }
}

/// One process, no communication: the sum over ranks of a buffer is the buffer.
public final class LocalReducer: GradientReducer {
    public let rank = 0, size = 1
    public private(set) var allreduceStats = CollectiveStats.Entry()
    public init() {}
    public func sumAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        allreduceStats.calls += 1
        allreduceStats.bytes += buffer.count * MemoryLayout<Float>.size
    }
    public func maxAllreduce(_ flags: inout [Int32]) throws {}
    public func gatherToRoot(_ values: [Double]) throws -> [Double]? { values }
}

/// A step whose loss or gradient is NaN or infinite; the weights were not updated.
public struct NonFiniteError: Error, CustomStringConvertible {
    public let step: Int
    public let ranks: [Int]
    public var description: String {
        "non-finite loss or gradient at step \(step) on rank(s) \(ranks.map(String.init).joined(separator: ", ")); the weights were not updated"
    }
}

/// One optimizer step of data-parallel training (docs/DESIGN.md §5), the only one: `dcft train`,
/// `dcft bench` and the tests all run this.
///
/// 1. forward, loss and backward over this rank's micro-batches (gradients accumulate; the loss
///    is normalised by the examples this rank sees in the whole step);
/// 2. the adapters' orthogonality penalty `γ·R` (loss and gradient);
/// 3. ONE sum-allreduce of the gradient buffer followed by `extraSlots` floats: loss sum, token
///    count, a non-finite flag, the preemption flag (`Preemption`); a non-finite value on any
///    rank stops every rank before the update (`NonFiniteError` naming the ranks); a preemption
///    signal on any rank makes every rank's `Result.stopRequested` true in the same step;
/// 4. gradients divided by the number of ranks, clipped by global norm, AdamW update.
public final class TrainingStep {
    public struct Settings: Sendable {
        /// Micro-batches per optimizer step on each rank.
        public var accumulation = 1
        /// The loss normaliser: examples per rank per optimizer step (per-rank batch × accumulation).
        public var perRankExamples: Int
        public var penalty: OrthogonalityPenalty = .reference
        public var gamma: Float = 0
        /// Global-norm clipping threshold (0: none).
        public var maxGradNorm = 0.0

        public init(accumulation: Int = 1, perRankExamples: Int, penalty: OrthogonalityPenalty = .reference,
                    gamma: Float = 0, maxGradNorm: Double = 0) {
            self.accumulation = accumulation; self.perRankExamples = perRankExamples; self.penalty = penalty
            self.gamma = gamma; self.maxGradNorm = maxGradNorm
        }
    }

    /// What one step did.
    public struct Result: Sendable {
        /// Loss (task + penalty) averaged over ranks.
        public var loss: Double
        /// Real tokens in the global batch.
        public var tokens: Double
        /// Global gradient norm before clipping.
        public var gradNorm: Double
        public var allreduceBytes: Int
        /// This rank's time in the allreduce: waiting for the last rank to arrive, then the transfer.
        public var allreduceSeconds: Double
        /// This rank's forward, loss, backward and penalty.
        public var computeSeconds: Double
        /// Averaging, clipping and the AdamW update after the allreduce.
        public var updateSeconds: Double
        /// Some rank received a preemption signal before this step's allreduce: every rank
        /// learns it in the same step (stop after it, checkpoint, exit `Preemption.exitCode`).
        public var stopRequested = false
    }

    /// One step's time across ranks (`balance(of:)`): per-rank compute spread, and the
    /// collective split into *transfer* (the allreduce as the last-arriving rank saw it: the
    /// ranks leave it together, so the shortest stay is the transfer itself) and *wait* (the
    /// rest: time spent waiting for slower ranks, i.e. load imbalance, not the network).
    public struct Balance: Sendable {
        public var computeMin: Double, computeMedian: Double, computeMax: Double
        public var transfer: Double
        /// Rank 0's wait and the longest wait of any rank.
        public var waitRank0: Double, waitMax: Double
        public var ranks: Int

        /// From every rank's (compute, allreduce) seconds, in rank order.
        public init(compute: [Double], allreduce: [Double]) {
            let c = compute.sorted()
            ranks = c.count
            computeMin = c.first ?? 0; computeMax = c.last ?? 0
            computeMedian = c.isEmpty ? 0 : (c.count % 2 == 1 ? c[c.count / 2] : (c[c.count / 2 - 1] + c[c.count / 2]) / 2)
            transfer = allreduce.min() ?? 0
            waitRank0 = (allreduce.first ?? 0) - transfer
            waitMax = (allreduce.max() ?? 0) - transfer
        }
    }

    /// Gathers `result`'s compute and allreduce times to rank 0 (one 16-byte gather, outside
    /// the step) and returns their balance there; nil on the other ranks.
    public func balance(of result: Result) throws -> Balance? {
        guard let all = try reducer.gatherToRoot([result.computeSeconds, result.allreduceSeconds]) else { return nil }
        return Balance(compute: stride(from: 0, to: all.count, by: 2).map { all[$0] },
                       allreduce: stride(from: 1, to: all.count, by: 2).map { all[$0] })
    }

    /// Floats after the gradients in the allreduced buffer: loss sum, token count, non-finite flag, spare.
    public static let extraSlots = 4

    public let model: SequenceClassifier
    public let optimizer: AdamW
    public let reducer: GradientReducer
    public let settings: Settings
    /// Called after the backward, before the allreduce, with the step index and this rank's
    /// loss (fault injection in tests: it may make the loss NaN, throw, or kill the process).
    public var beforeReduce: ((_ step: Int, _ loss: inout Float) throws -> Void)?
    /// The hang watchdog's deadline for the gradient allreduce, seconds (0: none; `Trainer` sets it).
    public var watchdogSeconds = 0.0

    public init(model: SequenceClassifier, optimizer: AdamW, reducer: GradientReducer, settings: Settings) {
        self.model = model; self.optimizer = optimizer; self.reducer = reducer; self.settings = settings
        model.store.reserveExtraGradientSlots(Self.extraSlots)
    }

    /// Bytes one step allreduces.
    public var allreduceBytes: Int { 4 * (model.store.trainableParameterCount + Self.extraSlots) }

    /// Runs step `step` on `batches` (this rank's `accumulation` micro-batches) with learning rate `lr`.
    public func run(_ batches: [Batch], step: Int, lr: Double, rng: inout SeededRNG) throws -> Result {
        let before = reducer.allreduceStats
        let t0 = DispatchTime.now().uptimeNanoseconds
        var (lossSum, tokens) = try computeGradients(batches, rng: &rng)
        try beforeReduce?(step, &lossSum)
        let compute = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        var r = try reduceAndUpdate(lossSum: lossSum, tokens: tokens, step: step, lr: lr, since: before)
        r.computeSeconds = compute
        return r
    }

    /// Phases 1–2: zeroes the gradients, runs forward, loss and backward over `batches` and adds
    /// the orthogonality penalty. Returns this rank's loss sum (task + penalty) and real tokens.
    /// (The gradient goldens stop here to compare every gradient with PyTorch's.)
    public func computeGradients(_ batches: [Batch], rng: inout SeededRNG) throws -> (lossSum: Float, tokens: Int) {
        precondition(batches.count == settings.accumulation, "\(batches.count) micro-batches for accumulation \(settings.accumulation)")
        let store = model.store
        store.gradients.zero()
        var lossSum: Float = 0, tokens = 0
        for b in batches {
            try model.forward(inputIDs: b.inputIDs, tokenTypeIDs: b.tokenTypeIDs, attentionMask: b.attentionMask,
                              batch: b.rows, length: b.length, training: true, rng: &rng)
            let (loss, dLogits) = try model.loss(labels: b.labels, valid: b.valid, normalizer: settings.perRankExamples)
            model.backward(dLogits: dLogits)
            lossSum += loss
            tokens += b.tokenCount
        }
        lossSum += settings.penalty.apply(store: store, vectors: model.adapters.orthogonalVectors, gamma: settings.gamma)
        return (lossSum, tokens)
    }

    /// Phases 3–4: one allreduce of gradients and slots, the non-finite check, averaging,
    /// clipping and the AdamW update.
    func reduceAndUpdate(lossSum: Float, tokens: Int, step: Int, lr: Double, since before: CollectiveStats.Entry) throws -> Result {
        let store = model.store, n = store.trainableParameterCount
        let g = store.gradients.pointer
        var finite = lossSum.isFinite
        if finite { for i in 0..<n where !g[i].isFinite { finite = false; break } }
        let extra = store.extraSlots
        extra[0] = lossSum; extra[1] = Float(tokens); extra[2] = finite ? 0 : 1; extra[3] = Preemption.signal != 0 ? 1 : 0
        try reducer.sumAllreduce(UnsafeMutableBufferPointer(start: g, count: n + Self.extraSlots), timeout: watchdogSeconds,
                                 label: "the gradient allreduce of step \(step + 1)")
        if extra[2] > 0 || !extra[0].isFinite {
            var flags = [Int32](repeating: 0, count: reducer.size)
            flags[reducer.rank] = finite ? 0 : 1
            try reducer.maxAllreduce(&flags)
            throw NonFiniteError(step: step, ranks: flags.indices.filter { flags[$0] != 0 })
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let inv = 1 / Float(reducer.size)
        for i in 0..<n { g[i] *= inv }
        let meanLoss = Double(extra[0]) / Double(reducer.size), globalTokens = Double(extra[1]), stop = extra[3] > 0
        let norm = GradientClipping.clip(g, count: n, maxNorm: settings.maxGradNorm)
        optimizer.update(params: store.trainable.pointer, grads: g, lr: Float(lr))
        let after = reducer.allreduceStats
        return Result(loss: meanLoss, tokens: globalTokens, gradNorm: norm, allreduceBytes: after.bytes - before.bytes,
                      allreduceSeconds: after.seconds - before.seconds, computeSeconds: 0,
                      updateSeconds: Double(DispatchTime.now().uptimeNanoseconds - t1) * 1e-9, stopRequested: stop)
    }
}
