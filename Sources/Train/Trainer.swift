import Foundation
import Collectives
import DataPipeline
import Model
import TensorCore

/// Data-parallel training of a `SequenceClassifier` (docs/DESIGN.md §5).
///
/// Every rank holds a replica, trains on its part of each global batch, and once per optimizer
/// step allreduces ONE flat buffer: the trainable gradients followed by the step's loss sum,
/// token count and a non-finite flag. Gradients are averaged, clipped by global norm and applied
/// by identical AdamW updates on every rank; the frozen encoder is never updated nor
/// communicated. Rank 0 evaluates (with every rank's predictions gathered), logs and checkpoints.
public final class Trainer {
    public let config: TrainConfig
    public let comm: Communicator
    public let task: TaskInfo
    public let model: SequenceClassifier
    public let optimizer: AdamW
    public let schedule: LinearSchedule
    public let sampler: EpochSampler
    let train: TokenizedDataset
    let devs: [TokenizedDataset]
    let baseSHA: String
    let outputDir: String
    let log: RunLog?
    let perRankBatch: Int
    /// The one training step (shared with `dcft bench` and the tests).
    public let trainingStep: TrainingStep
    let evaluationSchedule: EvaluationSchedule
    let checkpoints: CheckpointManager
    /// Optimizer steps of the whole run.
    public let totalSteps: Int

    // Position in the run (what a checkpoint saves).
    public internal(set) var step = 0
    public internal(set) var epoch = 0
    var position = 0
    var rng: SeededRNG
    public internal(set) var best = -Double.infinity
    public internal(set) var bestStep = -1
    /// Per-step mean losses of this process's run (for tests and the summary).
    public internal(set) var losses: [Int: Double] = [:]
    public internal(set) var lastReport: MetricReport?

    /// Sets up model, data and optimizer; with `resume`, continues from a checkpoint file.
    public init(config: TrainConfig, comm: Communicator, resume: String? = nil) throws {
        self.config = config
        self.comm = comm
        let threads = Trainer.threadsPerRank(config.train.threads)
        BLAS.threads = 1           // dcft splits large products itself (Matmul.gemm)
        Parallel.threads = threads

        let dir = try ModelDirectory(path: config.model)
        train = try TokenizedDataset(directory: config.data.train)
        devs = try config.data.dev.map { try TokenizedDataset(directory: $0) }
        let tokSHA = try Trainer.tokenizerSHA256(modelDirectory: dir.path)
        for ds in [train] + devs {
            try ds.require(tokenizerSHA256: tokSHA, maxLength: dir.config.maxPositions, numLabels: train.metadata.numLabels)
        }
        task = TaskInfo(name: config.task, dataset: train.metadata)
        if let t = GLUETask(name: task.name) { try train.require(task: t.rawValue) }

        let world = comm.size, accum = config.train.accumulation, batch = config.train.batchSize
        guard batch % (world * accum) == 0 else {
            throw ConfigurationError(source: config.source, message: "train.batch_size \(batch) is not divisible by ranks × accumulation = \(world) × \(accum)")
        }
        perRankBatch = batch / (world * accum)
        let seed = UInt64(config.train.seed)
        sampler = EpochSampler(lengths: train.lengths, perRankBatch: perRankBatch, worldSize: world, rank: comm.rank,
                               accumulation: accum, seed: seed, bucketWindow: config.train.bucketWindow)
        totalSteps = Trainer.totalSteps(config.train, stepsPerEpoch: sampler.stepsPerEpoch)
        schedule = LinearSchedule(peak: config.train.lr, total: totalSteps,
                                  warmupSteps: config.train.warmupSteps, warmupRatio: config.train.warmupRatio)

        model = try SequenceClassifier.pretrained(dir, options: config.modelOptions(numLabels: task.numLabels), seed: seed)
        optimizer = AdamW(store: model.store, beta1: Float(config.train.adamBeta1), beta2: Float(config.train.adamBeta2),
                          eps: Float(config.train.adamEps), weightDecay: Float(config.train.weightDecay))
        trainingStep = TrainingStep(model: model, optimizer: optimizer, reducer: comm,
                                    settings: config.stepSettings(perRankExamples: perRankBatch * accum))
        trainingStep.beforeReduce = FaultInjection.from(environment: ProcessInfo.processInfo.environment, rank: comm.rank)?.hook
        evaluationSchedule = EvaluationSchedule(evalEvery: config.eval.everySteps, checkpointEvery: config.checkpoint.everySteps)
        baseSHA = try SHA256.hex(file: dir.weightsPath)
        rng = SeededRNG(seed: seed, stream: 1000 + UInt64(comm.rank))
        outputDir = config.outputDir
        checkpoints = CheckpointManager(directory: outputDir, keepLast: config.checkpoint.keepLast)

        try Trainer.checkConsistency(comm: comm, baseSHA: baseSHA, config: config.yaml, model: model)

        var resumed: Checkpoint? = nil, resumeNotes: [String] = []
        if let resume {
            // `auto`: the newest checkpoint that reads and verifies; an unreadable or corrupt one is
            // reported and the one before it tried.
            var found: (path: String, checkpoint: Checkpoint)? = nil
            if resume == "auto" {
                let candidates = checkpoints.checkpoints()
                for candidate in candidates.reversed() {
                    do { found = (candidate, try Checkpoint.read(candidate)); break } catch {
                        resumeNotes.append("skipped \(candidate): \(error)")
                        if comm.rank == 0 { FileHandle.standardError.write(Data("dcft: skipping checkpoint \(candidate): \(error)\n".utf8)) }
                    }
                }
                if found == nil && !candidates.isEmpty {
                    throw CheckpointError(file: outputDir, problem: "no checkpoint there reads back intact; refusing to start over on top of them:\n  " + resumeNotes.joined(separator: "\n  "))
                }
            } else {
                guard FileManager.default.fileExists(atPath: resume) else { throw CheckpointError(file: resume, problem: "no such checkpoint") }
                found = (resume, try Checkpoint.read(resume))
            }
            if let (path, c) = found {
                guard c.worldSize == world else {
                    throw CheckpointError(file: path, problem: "was written by \(c.worldSize) ranks; exact resume needs the same number (this job has \(world))")
                }
                guard c.baseModelSHA256 == baseSHA else { throw CheckpointError(file: path, problem: "was trained on other base weights (sha256 \(c.baseModelSHA256.prefix(12))…)") }
                resumeNotes += try ResumePolicy.check(checkpoint: c.config, resuming: config.yaml, file: path)
                try c.restore(into: model, optimizer: optimizer, file: path)
                step = c.step; epoch = c.epoch; position = c.position
                best = c.bestMetric; bestStep = c.bestStep
                rng = SeededRNG(stateWords: c.rngStates[comm.rank])
                resumed = c
            }
        }
        log = comm.rank == 0 ? try RunLog(directory: outputDir, resumeFrom: resumed?.step ?? (resume == nil ? nil : 0),
                                                  progress: config.log.progress) : nil
        if let log {
            let adapters = model.adapterParameterCount
            log.say("dcft train: task \(task.name), \(world) rank(s) × \(threads) thread(s), \(train.count) examples, global batch \(batch) (\(perRankBatch) per rank × \(world) × \(accum) accumulation), \(totalSteps) steps")
            log.say("trainable: \(model.store.trainableParameterCount) parameters (adapters \(adapters), head \(model.store.trainableParameterCount - adapters)); allreduce \(trainingStep.allreduceBytes) bytes per step")
            if let r = resumed {
                log.firstStep = r.step
                log.say("resumed from step \(r.step) (epoch \(r.epoch), position \(r.position))")
                for note in resumeNotes { log.say("note: configuration changed on resume: \(note)") }
            }
        }
    }

    /// Threads per rank: the config's, else OPENBLAS_NUM_THREADS, else cores ÷ ranks on this node.
    /// Optimizer steps of a run: `train.epochs` worth of steps, capped by `train.max_steps`
    /// (which alone decides when epochs is 0).
    public static func totalSteps(_ train: TrainSection, stepsPerEpoch: Int) -> Int {
        let byEpochs = Int((train.epochs * Double(stepsPerEpoch)).rounded(.up))
        let cap = train.maxSteps
        return cap > 0 ? (train.epochs > 0 ? min(cap, byEpochs) : cap) : byEpochs
    }

    /// The sampler of an evaluation on one dev set: every example once, in length order
    /// (filler rows masked), `eval.batch_size` rows per rank.
    public static func evaluationSampler(lengths: [Int], batchSize: Int, worldSize: Int, rank: Int) -> EpochSampler {
        EpochSampler(lengths: lengths, perRankBatch: batchSize, worldSize: worldSize, rank: rank, seed: 0, shuffle: false,
                     bucketWindow: 1_000_000, fill: .mask)
    }

    static func threadsPerRank(_ configured: Int) -> Int {
        if configured > 0 { return configured }
        let env = ProcessInfo.processInfo.environment
        if let s = env["OPENBLAS_NUM_THREADS"], let n = Int(s), n > 0 { return n }
        let local = Int(env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
        return max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, local))
    }

    /// sha256 of the tokenizer file `dcft prepare` fingerprints (tokenizer.json, vocab.txt, vocab.json
    /// or spm.model: the first present, as `Tokenizer.load(directory:)` picks it).
    static func tokenizerSHA256(modelDirectory: String) throws -> String? {
        for f in ["tokenizer.json", "vocab.txt", "vocab.json", "spm.model"] where FileManager.default.fileExists(atPath: modelDirectory + "/" + f) {
            return try SHA256.hex(file: modelDirectory + "/" + f)
        }
        return nil
    }

    /// Refuses to start unless every rank holds the same base weights, config and trainable layout.
    static func checkConsistency(comm: Communicator, baseSHA: String, config: String, model: SequenceClassifier) throws {
        let layout = model.store.entries.filter(\.ref.trainable).map { "\($0.name)\($0.shape)" }.joined(separator: ";")
        func fp(_ s: String) -> Int64 { Int64(bitPattern: UInt64(SHA256.hex(Array(s.utf8)).prefix(16), radix: 16)!) }
        let mine: [Int64] = [fp(baseSHA), fp(config), fp(layout)]
        var problem = ""
        if let all = try comm.gather(mine, root: 0) {
            for r in 1..<comm.size {
                for (i, what) in ["base model weights", "configuration", "trainable tensor layout"].enumerated() where all[r * 3 + i] != mine[i] {
                    problem = "rank \(r) has a different \(what) than rank 0"
                }
            }
        }
        let status = try comm.broadcast([Int32(problem.isEmpty ? 0 : 1)], root: 0)
        if status[0] != 0 {
            throw ConfigurationError(source: "startup check", message: problem.isEmpty ? "rank 0 found ranks that differ in base weights, configuration or layout" : problem)
        }
    }
}
