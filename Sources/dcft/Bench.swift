import ArgumentParser
import Foundation
import Collectives
import DataPipeline
import Model
import TensorCore
import Train

/// `dcft bench`: times training steps on synthetic batches of fixed shape and reports
/// ms/step, tokens/s, achieved GFLOP/s against the sgemm throughput measured on the same
/// shapes, and time in allreduce. Run under mpirun for several ranks.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training steps and compare with the sgemm peak on the same shapes.",
        discussion: """
            mpirun -np 2 dcft bench --batch 16 --seq 128 --threads 1 (per-rank batch; global = batch × ranks).
            The step is the trainer's own (TrainingStep: forward, loss, backward, penalty, allreduce,
            clipping, AdamW). Adapter options as in a config: --set adapter.kernel=2, --set adapter.lora_rank=1.
            """)

    @Option(help: "Hugging Face model directory.") var model: String = "models/all-MiniLM-L6-v2"
    @Option(help: "Per-rank batch size.") var batch: Int = 32
    @Option(help: "Sequence length (every row full, no padding).") var seq: Int = 128
    @Option(help: "Threads per rank (BLAS and kernels).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "An adapter method (\(AdapterRegistry.methods.map { $0.name }.joined(separator: ", "))), none (head only) or full.")
    var adapter: String = "dcft"
    @Option(name: .customLong("set"), help: "Override a config key, e.g. adapter.kernel=2 (repeatable).") var overrides: [String] = []
    @Option(help: "Timed steps.") var steps: Int = 10
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 2
    @Option(help: "sgemm reference repetitions (each at least 0.5 s), interleaved with the timed steps.") var referenceReps: Int = 4
    @Flag(help: "Run the last layer for every token (default: its query side for the first token only, the row the head reads).")
    var fullLastLayer = false

    func run() throws {
        let comm = try Communicator.world()
        BLAS.threads = 1           // dcft splits large products itself (Matmul.gemm)
        Parallel.threads = threads
        try checkBLAS { line in if comm.rank == 0 { print(line) } }
        let dir = try ModelDirectory(path: model)
        // The adapter and its options go through the same configuration code as `dcft train`.
        let full = adapter == "full"
        let cfg = try TrainConfig.load(file: nil, overrides: ["task=bench", "adapter.type=\(full ? "none" : adapter)",
                                                             "adapter.full_fine_tuning=\(full)", "train.hidden_dropout=0.1",
                                                             "train.attention_dropout=0.1", "train.orth_gamma=0.1"] + overrides)
        var opts = try cfg.modelOptions(numLabels: 2)
        opts.firstTokenLastLayer = !fullLastLayer
        let net = try SequenceClassifier.pretrained(dir, options: opts)
        let c = dir.config, n = batch * seq
        var rng = SeededRNG(seed: 1, stream: UInt64(comm.rank))
        let lo = min(1000, c.vocabSize / 2)  // skip the special and rare low ids
        var b = Batch(rows: batch, length: seq, padID: 0)
        b.inputIDs = (0..<n).map { _ in Int32(lo + Int(rng.next() % UInt64(c.vocabSize - lo))) }
        b.attentionMask = [Float](repeating: 1, count: n)
        b.lengths = [Int](repeating: seq, count: batch)
        b.labels = (0..<batch).map { Float($0 % 2) }
        let count = net.store.trainableParameterCount
        let optimizer = AdamW(store: net.store, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01)
        let step = TrainingStep(model: net, optimizer: optimizer, reducer: comm, settings: cfg.stepSettings(perRankExamples: batch))
        var times: [Double] = [], results: [TrainingStep.Result] = [], balances: [TrainingStep.Balance] = []
        // The sgemm reference is measured between the timed steps, so that it sees the same
        // machine (load, clocks) as they do: one repetition before the first timed step and
        // the rest spread evenly through them.
        var reference = SgemmReference(c, rows: n)
        let reps = max(1, referenceReps)
        let every = max(1, (steps + reps - 2) / max(1, reps - 1))
        for s in 0..<(warmup + steps) {
            let timed = s - warmup
            if timed >= 0 && timed % every == 0 && reference.rates.count < reps { reference.measure() }
            try comm.barrier()
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try step.run([b], step: s, lr: 1e-4, rng: &rng)
            let t1 = DispatchTime.now().uptimeNanoseconds
            let balance = try step.balance(of: r)   // a small gather, outside the timed step
            if s >= warmup {
                times.append(Double(t1 - t0) * 1e-9); results.append(r)
                if let balance { balances.append(balance) }
            }
        }
        while reference.rates.count < reps { reference.measure() }
        let flops = Self.stepFLOPs(c, batch: batch, seq: seq, full: opts.fullFineTuning, headOnly: adapter == "none",
                                   firstTokenLastLayer: opts.firstTokenLastLayer && c.disentangled == nil)
        guard comm.rank == 0 else { return }
        func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.isEmpty ? .nan : s[s.count / 2] }
        let med = median(times)
        let gflops = flops / med / 1e9
        let settings = opts.adapter.map { m in " " + m.fields.map { "\($0.key)=\($0.format(m.settings[$0.key] ?? $0.defaultValue))" }.joined(separator: " ") } ?? ""
        print("model \(model): h \(c.hiddenSize), layers \(c.numLayers)\(fullLastLayer ? " (full last layer)" : ""), adapter \(adapter)\(settings)")
        print("ranks \(comm.size) × threads \(threads); per-rank batch \(batch) × seq \(seq); trainable \(count) (allreduce \(step.allreduceBytes) bytes)")
        print(String(format: "step: median %.1f ms over %d steps (min %.1f, max %.1f)", med * 1000, times.count, times.min()! * 1000, times.max()! * 1000))
        print(String(format: "throughput: %.0f tokens/s per rank, %.0f tokens/s in all", Double(n) / med, Double(n * comm.size) / med))
        print(String(format: "compute: %.1f GFLOP per step per rank, %.1f GFLOP/s achieved", flops / 1e9, gflops))
        print(reference.summary(achieved: gflops))
        // Medians over steps. Compute is forward + loss + backward + penalty on each rank; the
        // allreduce is split into transfer (the shortest stay in it: the last rank to arrive)
        // and wait (arrival skew = load imbalance); update is averaging + clipping + AdamW.
        let transfer = median(balances.map(\.transfer)), allreduce = median(results.map(\.allreduceSeconds))
        print(String(format: "compute per rank: min %.1f / median %.1f / max %.1f ms; update %.2f ms",
                     median(balances.map(\.computeMin)) * 1000, median(balances.map(\.computeMedian)) * 1000,
                     median(balances.map(\.computeMax)) * 1000, median(results.map(\.updateSeconds)) * 1000))
        print(String(format: "allreduce: median %.3f ms per step on rank 0 = transfer %.3f ms (%.1f%% of the step) + wait %.3f ms (longest wait of any rank %.3f ms)",
                     allreduce * 1000, transfer * 1000, 100 * transfer / med, median(balances.map(\.waitRank0)) * 1000,
                     median(balances.map(\.waitMax)) * 1000))
    }

    /// Encoder matmul FLOPs one training step performs (forward + backward), the figure GFLOP/s
    /// refers to (the adapters' row kernels and the small head are not counted). Per layer, with n = batch·seq rows and q query-side rows (n, or batch for a
    /// first-token last layer): linears `2·rows·in·out` forward (keys and values over n rows,
    /// queries, attention output and feed-forward over q); backward the same again for `dx`,
    /// except the input gradient of the lowest layer's q/k/v, which a frozen encoder does not
    /// need, and again for `dW` when every weight trains; attention `4·batch·Lq·seq·h` forward
    /// (scores and context), twice that backward. DeBERTa's relative terms add `2·batch·seq·W·h`
    /// per term (c2p, p2c; W the relative-embedding rows the batch's distances reach) forward and
    /// twice that backward, plus the query/key projections of the 2S relative rows (shared keys).
    /// Head-only runs no encoder backward.
    static func stepFLOPs(_ c: EncoderConfig, batch: Int, seq: Int, full: Bool, headOnly: Bool,
                          firstTokenLastLayer: Bool) -> Double {
        let h = Double(c.hiddenSize), f = Double(c.intermediateSize), n = Double(batch * seq)
        var total = 0.0
        for layer in 0..<c.numLayers {
            let firstOnly = firstTokenLastLayer && layer == c.numLayers - 1
            let q = firstOnly ? Double(batch) : n, lq = firstOnly ? 1.0 : Double(seq)
            let kv = 2 * n * 2 * h * h, rest = 2 * q * (2 * h * h + 2 * h * f)   // k, v | q, o, ffn
            var attention = 4 * Double(batch) * lq * Double(seq) * h
            if let d = c.disentangled, d.relativeAttention {
                let terms = Double((d.contentToPosition ? 1 : 0) + (d.positionToContent ? 1 : 0))
                attention += 2 * n * Double(d.relativeIndex(length: seq).count) * h * terms
                if d.shareAttentionKey { total += 2 * Double(2 * d.span) * 2 * h * h * (headOnly ? 1 : 2) }
            }
            total += kv + rest + attention
            if headOnly { continue }
            let inputGrad = (layer > 0 || full) ? 2 * n * 2 * h * h + 2 * q * h * h : 0   // dx of k, v | q
            total += inputGrad + 2 * q * (h * h + 2 * h * f) + 2 * attention          // + dx of o, ffn
            if full { total += kv + rest }
        }
        return total
    }
}

/// The sgemm throughput a step's matmuls are compared with: the step's two main shapes
/// (`[n × h]·[h × h]ᵀ` and `[n × h]·[h × f]ᵀ`) through the same `Matmul.gemm`, each repetition
/// repeated for at least `minSeconds` so one slow moment does not decide it. The best
/// repetition is the reference; the spread says how noisy the machine was.
struct SgemmReference {
    let n: Int, h: Int, f: Int
    let x: Buffer<Float>, w: Buffer<Float>, y: Buffer<Float>
    /// GFLOP/s of each repetition so far.
    private(set) var rates: [Double] = []
    var minSeconds = 0.5

    init(_ c: EncoderConfig, rows n: Int) {
        self.n = n; h = c.hiddenSize; f = c.intermediateSize
        x = Buffer<Float>(count: n * f); w = Buffer<Float>(count: f * h); y = Buffer<Float>(count: n * f)
        for i in 0..<x.count { x[i] = Float(i % 7) * 0.01 }
        for i in 0..<w.count { w[i] = Float(i % 5) * 0.01 }
    }

    /// One repetition: the shape pair, again and again until `minSeconds` have passed.
    mutating func measure() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var calls = 0, elapsed = 0.0
        repeat {
            Matmul.gemm(transB: true, m: n, n: h, k: h, a: x.pointer, lda: h, b: w.pointer, ldb: h, c: y.pointer, ldc: h)
            Matmul.gemm(transB: true, m: n, n: f, k: h, a: x.pointer, lda: h, b: w.pointer, ldb: h, c: y.pointer, ldc: f)
            calls += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        } while elapsed < minSeconds
        rates.append(2 * Double(n) * Double(h) * Double(h + f) * Double(calls) / elapsed / 1e9)
    }

    var best: Double { rates.max() ?? .nan }

    /// The report line: the reference with its spread and the step's share of it; a share
    /// above 100% means the reference itself was measured low, so a warning replaces it.
    func summary(achieved: Double) -> String {
        let sorted = rates.sorted()
        let spread = String(format: "best of %d repetitions ≥ %.1f s: %.1f GFLOP/s (spread %.1f–%.1f, median %.1f)",
                            rates.count, minSeconds, best, sorted.first ?? .nan, best, sorted[sorted.count / 2])
        guard achieved <= best else {
            return "sgemm on the same shapes: \(spread)\n" + String(format:
                "warning: the step's %.1f GFLOP/s exceed the sgemm reference, so the reference is wrong (the machine was busier while it ran); no efficiency reported",
                achieved)
        }
        return "sgemm on the same shapes: \(spread) → " + String(format: "%.0f%% of sgemm peak", 100 * achieved / best)
    }
}
