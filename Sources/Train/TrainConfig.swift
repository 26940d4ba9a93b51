import Foundation
import Yams
import Model

/// A bad configuration: the file, the key and what is wrong (with a suggestion for typos).
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let source: String
    public let message: String
    public var description: String { "\(source): \(message)" }
}

private let anyNumber = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
private func atLeast(_ v: Double) -> ClosedRange<Double> { v...Double.greatestFiniteMagnitude }

// MARK: sections

/// `data:` — the tokenized datasets (`dcft prepare` output).
public struct DataSection: ConfigSection {
    /// Training set directory.
    public var train: String
    /// Dev set directories (MNLI: matched, mismatched).
    public var dev: [String]

    public static let fields = [
        ConfigField("data.train", .string, "data/{task}/train", "Tokenized training set directory (dcft prepare)."),
        ConfigField("data.dev", .strings, "[\"data/{task}/dev\"]", "Tokenized dev set directories; MNLI: [dev_matched, dev_mismatched]."),
    ]
}

/// `adapter:` — which adapter method, on which modules, with its options. The option keys are
/// the registered methods' `AdapterField`s (DCFT: kernel, stride, alpha, r, init_std; LoRA:
/// lora_rank, lora_alpha, lora_dropout); only the chosen method's are used.
public struct AdapterSection: ConfigSection {
    /// A registered method name (`AdapterRegistry`) or "none".
    public var type: String
    public var targetModules: [String]
    public var fullFineTuning: Bool
    /// Every method option by key (defaults filled in).
    public var options: AdapterSettings

    static var common: [ConfigField] {
        [
            ConfigField("adapter.type", .choice(AdapterRegistry.typeNames), "dcft", "Adapter on the encoder's linears; none = head only (or full fine-tuning)."),
            ConfigField("adapter.target_modules", .strings, "[query, key, value, attention_output, intermediate, output]", "Adapted modules of every layer."),
            ConfigField("adapter.full_fine_tuning", .bool, "false", "Train every weight (the baseline); communicates every gradient."),
        ]
    }

    /// Option keys of every registered method (a key two methods share appears once).
    static var methodFields: [AdapterField] {
        var seen = Set<String>()
        return AdapterRegistry.methods.flatMap { $0.fields }.filter { seen.insert($0.key).inserted }
    }

    public static var fields: [ConfigField] {
        common + methodFields.map { f in
            ConfigField("adapter." + f.key, f.isInteger ? .int : .double, f.format(f.defaultValue), range: f.range, f.doc)
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        type = try c.decode(String.self, forKey: Key(stringValue: "type"))
        targetModules = try c.decode([String].self, forKey: Key(stringValue: "target_modules"))
        fullFineTuning = try c.decode(Bool.self, forKey: Key(stringValue: "full_fine_tuning"))
        options = [:]
        for f in Self.methodFields { options[f.key] = try c.decode(Double.self, forKey: Key(stringValue: f.key)) }
    }

    /// The chosen method with its options, or nil for "none".
    public func method(source: String) throws -> (any AdapterMethod)? {
        guard let m = AdapterRegistry.method(named: type) else { return nil }
        let own = Set(m.fields.map(\.key))
        return try m.make(settings: options.filter { own.contains($0.key) }, source: source)
    }
}

/// `head:` — the classification head.
public struct HeadSection: ConfigSection {
    public var trainPooler: Bool
    /// Dropout before the classifier; negative: the model config's.
    public var classifierDropout: Double

    enum CodingKeys: String, CodingKey { case trainPooler = "train_pooler", classifierDropout = "classifier_dropout" }

    public static let fields = [
        ConfigField("head.train_pooler", .bool, "true", "Train BERT's pooler with the classifier (false: classifier only)."),
        ConfigField("head.classifier_dropout", .double, "-1", range: -1...0.999999, "Dropout before the classifier (-1: the model config's)."),
    ]
}

/// `train:` — optimisation.
public struct TrainSection: ConfigSection {
    public var epochs: Double
    public var maxSteps: Int
    public var batchSize: Int
    public var accumulation: Int
    public var lr: Double
    public var weightDecay: Double
    public var adamBeta1: Double
    public var adamBeta2: Double
    public var adamEps: Double
    public var warmupSteps: Int
    public var warmupRatio: Double
    public var maxGradNorm: Double
    public var orthGamma: Double
    public var orthPenalty: OrthogonalityPenalty
    public var hiddenDropout: Double
    public var attentionDropout: Double
    public var seed: Int
    public var threads: Int
    public var bucketWindow: Int
    /// The hang watchdog's floor in seconds (0: off); see `Watchdog`.
    public var watchdogSeconds: Double

    enum CodingKeys: String, CodingKey {
        case epochs, maxSteps = "max_steps", batchSize = "batch_size", accumulation, lr, weightDecay = "weight_decay"
        case adamBeta1 = "adam_beta1", adamBeta2 = "adam_beta2", adamEps = "adam_eps", warmupSteps = "warmup_steps"
        case warmupRatio = "warmup_ratio", maxGradNorm = "max_grad_norm", orthGamma = "orth_gamma", orthPenalty = "orth_penalty"
        case hiddenDropout = "hidden_dropout", attentionDropout = "attention_dropout", seed, threads, bucketWindow = "bucket_window"
        case watchdogSeconds = "watchdog_seconds"
    }

    public static let fields = [
        ConfigField("train.epochs", .double, "3", range: atLeast(0), "Epochs to train (fractions allowed)."),
        ConfigField("train.max_steps", .int, "0", range: atLeast(0), "Stop after this many optimizer steps (0: no cap)."),
        ConfigField("train.batch_size", .int, "32", range: atLeast(1), "Global batch per optimizer step = per-rank batch × ranks × accumulation."),
        ConfigField("train.accumulation", .int, "1", range: atLeast(1), "Gradient accumulation steps."),
        ConfigField("train.lr", .double, "1e-3", range: Double.leastNonzeroMagnitude...10, "Peak learning rate."),
        ConfigField("train.weight_decay", .double, "0.01", range: 0...10, "AdamW decoupled weight decay (none on biases and LayerNorm)."),
        ConfigField("train.adam_beta1", .double, "0.9", range: 0...0.999999, "AdamW β1."),
        ConfigField("train.adam_beta2", .double, "0.999", range: 0...0.999999999, "AdamW β2."),
        ConfigField("train.adam_eps", .double, "1e-8", range: 0...1, "AdamW ε (added outside the square root)."),
        ConfigField("train.warmup_steps", .int, "0", range: atLeast(0), "Linear warmup steps (then linear decay to 0)."),
        ConfigField("train.warmup_ratio", .double, "0", range: 0...1, "Warmup as a fraction of total steps (used when warmup_steps is 0)."),
        ConfigField("train.max_grad_norm", .double, "1.0", range: atLeast(0), "Clip the global gradient norm to this (0: no clipping)."),
        ConfigField("train.orth_gamma", .double, "0.1", range: atLeast(0), "γ of the orthogonality penalty γ·R on the adapters' subspace vectors (DCFT A and B)."),
        ConfigField("train.orth_penalty", .choice(OrthogonalityPenalty.allCases.map(\.rawValue)), "reference", "R: reference = mean |‖v‖²−1|; paper = Σ (‖v‖²−1)²."),
        ConfigField("train.hidden_dropout", .double, "-1", range: -1...0.999999, "Encoder hidden dropout (-1: the model config's)."),
        ConfigField("train.attention_dropout", .double, "-1", range: -1...0.999999, "Attention dropout (-1: the model config's)."),
        ConfigField("train.seed", .int, "6", range: 0...Double(UInt32.max), "Seed of initialisation, shuffling and dropout (per-rank streams)."),
        ConfigField("train.threads", .int, "0", range: 0...4096, "Threads per rank for BLAS and kernels (0: OPENBLAS_NUM_THREADS or cores ÷ local ranks)."),
        ConfigField("train.bucket_window", .int, "50", range: atLeast(1), "Length bucketing window in global batches (1: off)."),
        ConfigField("train.watchdog_seconds", .double, "300", range: atLeast(0), "Hang watchdog: a rank waiting longer than max(this, 20 × the slowest step so far) in a step's allreduce names the ranks that did not arrive and aborts the job (exit 124); 0: off."),
    ]
}

/// `eval:` — evaluation on the dev sets.
public struct EvalSection: ConfigSection {
    public var everySteps: Int
    public var batchSize: Int
    enum CodingKeys: String, CodingKey { case everySteps = "every_steps", batchSize = "batch_size" }
    public static let fields = [
        ConfigField("eval.every_steps", .int, "0", range: atLeast(0), "Evaluate every N optimizer steps (0: at each epoch's end only)."),
        ConfigField("eval.batch_size", .int, "64", range: atLeast(1), "Per-rank evaluation batch."),
    ]
}

/// `checkpoint:` — how often and how many.
public struct CheckpointSection: ConfigSection {
    public var everySteps: Int
    public var everyMinutes: Double
    public var keepLast: Int
    enum CodingKeys: String, CodingKey { case everySteps = "every_steps", everyMinutes = "every_minutes", keepLast = "keep_last" }
    public static let fields = [
        ConfigField("checkpoint.every_steps", .int, "0", range: atLeast(0), "Checkpoint every N optimizer steps (0: at each evaluation)."),
        ConfigField("checkpoint.every_minutes", .double, "0", range: atLeast(0), "Also checkpoint when this many minutes of wall time have passed since the last checkpoint (0: off); rank 0's clock decides for all ranks."),
        ConfigField("checkpoint.keep_last", .int, "2", range: atLeast(1), "Checkpoints kept besides the best."),
    ]
}

/// `log:` — progress output.
public struct LogSection: ConfigSection {
    public var everySteps: Int
    public var recordEvery: Int
    public var progress: String
    enum CodingKeys: String, CodingKey { case everySteps = "every_steps", recordEvery = "record_every", progress }
    public static let fields = [
        ConfigField("log.every_steps", .int, "10", range: atLeast(1), "Progress update every N optimizer steps."),
        ConfigField("log.record_every", .int, "0", range: atLeast(0), "A training record in log.jsonl every N steps, each the mean over its window with the window's maximum step time (0: as log.every_steps; 1: every step)."),
        ConfigField("log.progress", .choice(["auto", "bar", "plain"]), "auto", "Progress display: a bar redrawn in place, plain lines, or auto (bar when rank 0's stdout is a terminal; mpirun gives ranks a pseudo-terminal, so choose plain when redirecting mpirun's output)."),
    ]
}

// MARK: the configuration

/// The resolved configuration of a training run: defaults, overridden by the YAML file,
/// overridden by `--set key=value` (later wins), validated key by key against `ConfigSchema`
/// (unknown keys, wrong types and out-of-range values are errors naming the source, the key and
/// what is expected), then decoded into one typed struct per section. `{task}` in paths is
/// replaced by the task name.
public struct TrainConfig: Sendable {
    /// GLUE task name or a JSONL dataset name.
    public var task: String
    /// Hugging Face model directory.
    public var model: String
    /// Run directory.
    public var outputDir: String
    public var data: DataSection
    public var adapter: AdapterSection
    public var head: HeadSection
    public var train: TrainSection
    public var eval: EvalSection
    public var checkpoint: CheckpointSection
    public var log: LogSection
    /// Where the configuration came from (for messages).
    public let source: String
    /// The resolved configuration as YAML, one `key: value` line per schema key (stored in
    /// checkpoints and compared on resume).
    public let yaml: String

    static let topLevelFields = [
        ConfigField("task", .string, "", "GLUE task (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte) or a JSONL dataset name; picks metrics and labels. Required."),
        ConfigField("model", .string, "models/all-MiniLM-L6-v2", "Hugging Face model directory (config.json, model.safetensors, tokenizer)."),
        ConfigField("output_dir", .string, "runs/{task}", "Run directory: checkpoints, log.jsonl, adapter export. {task} is replaced."),
    ]

    /// A validated value of one key.
    enum Value: Sendable, Equatable {
        case string(String), int(Int), double(Double), bool(Bool), strings([String])
        var yaml: String {
            switch self {
            case .string(let s): return s.isEmpty ? "\"\"" : s
            case .int(let v): return String(v)
            case .double(let v): return String(v)
            case .bool(let v): return String(v)
            case .strings(let v): return "[" + v.joined(separator: ", ") + "]"
            }
        }
        var json: Any {
            switch self {
            case .string(let s): return s
            case .int(let v): return v
            case .double(let v): return v
            case .bool(let v): return v
            case .strings(let v): return v
            }
        }
    }

    /// Loads `file` (YAML; nil: defaults only) and applies `overrides` ("key=value", the value
    /// parsed as YAML).
    public static func load(file: String?, overrides: [String] = []) throws -> TrainConfig {
        let source = file ?? "defaults"
        let schema = ConfigSchema.keys, byName = ConfigSchema.byName
        var values: [String: Value] = [:]
        for k in schema where !k.defaultValue.isEmpty {
            values[k.name] = try convert(Yams.load(yaml: k.defaultValue), key: k, source: "schema")
        }
        func set(_ key: String, _ value: Any, source: String) throws {
            guard let k = byName[key] else {
                let hint = ConfigSchema.closest(to: key).map { "; did you mean \"\($0)\"?" } ?? ""
                throw ConfigurationError(source: source, message: "unknown key \"\(key)\"\(hint)")
            }
            values[key] = try convert(value, key: k, source: source)
        }
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigurationError(source: file, message: FileManager.default.fileExists(atPath: file) ? "cannot read the file" : "no such config file")
            }
            let root: Any?
            do { root = try Yams.load(yaml: text) } catch {
                throw ConfigurationError(source: file, message: "invalid YAML: \(error)")
            }
            guard let dict = root as? [String: Any] else { throw ConfigurationError(source: file, message: "the top level must be a mapping of keys") }
            for (key, value) in flatten(dict, prefix: "") { try set(key, value, source: file) }
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else {
                throw ConfigurationError(source: "--set \(o)", message: "expected key=value")
            }
            let key = String(o[..<eq]), text = String(o[o.index(after: eq)...])
            let parsed: Any? = (try? Yams.load(yaml: text)).flatMap { $0 }
            try set(key, parsed ?? text, source: "--set \(o)")
        }
        for k in schema where values[k.name] == nil {
            throw ConfigurationError(source: source, message: "required key \"\(k.name)\" is missing (\(k.doc))")
        }
        return try TrainConfig(values: values, schema: schema, source: source)
    }

    /// Decodes the validated values into the sections and checks the rules that span keys.
    init(values: [String: Value], schema: [ConfigField], source: String) throws {
        self.source = source
        yaml = schema.map { k in "\(k.name): \(values[k.name]!.yaml)" }.joined(separator: "\n")
        guard case .string(let taskName)? = values["task"] else { throw ConfigurationError(source: source, message: "task: expected string") }
        func expand(_ s: String) -> String { s.replacingOccurrences(of: "{task}", with: taskName) }
        // Nested mapping of the validated values, decoded into the typed sections.
        var tree: [String: [String: Any]] = [:]
        for (key, v) in values {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 2 { tree[parts[0], default: [:]][parts[1]] = v.json }
        }
        func section<T: ConfigSection>(_ name: String, _ type: T.Type) throws -> T {
            let data = try JSONSerialization.data(withJSONObject: tree[name] ?? [:])
            do { return try JSONDecoder().decode(T.self, from: data) } catch {
                throw ConfigurationError(source: source, message: "section \(name): \(error)")   // a schema/struct mismatch: a bug
            }
        }
        task = taskName
        guard case .string(let m)? = values["model"], case .string(let o)? = values["output_dir"] else {
            throw ConfigurationError(source: source, message: "model and output_dir must be strings")
        }
        model = expand(m); outputDir = expand(o)
        data = try section("data", DataSection.self)
        data.train = expand(data.train); data.dev = data.dev.map(expand)
        adapter = try section("adapter", AdapterSection.self)
        head = try section("head", HeadSection.self)
        train = try section("train", TrainSection.self)
        eval = try section("eval", EvalSection.self)
        checkpoint = try section("checkpoint", CheckpointSection.self)
        log = try section("log", LogSection.self)
        try validate()
    }

    static func flatten(_ d: [String: Any], prefix: String) -> [(String, Any)] {
        d.sorted { $0.key < $1.key }.flatMap { k, v -> [(String, Any)] in
            let name = prefix.isEmpty ? k : prefix + "." + k
            if let sub = v as? [String: Any] { return flatten(sub, prefix: name) }
            return [(name, v)]
        }
    }

    /// Converts a YAML value to the key's type and checks its range.
    static func convert(_ v: Any?, key k: ConfigField, source: String) throws -> Value {
        let shown = v.map { "\($0)" } ?? "nothing"
        func bad() -> ConfigurationError {
            ConfigurationError(source: source, message: "\(k.name): expected \(k.kind.label)\(k.range.map { _ in " in \(k.rangeLabel)" } ?? ""), got \(shown)")
        }
        func checked(_ d: Double) throws -> Double {
            if let r = k.range, !r.contains(d) {
                throw ConfigurationError(source: source, message: "\(k.name): \(shown) is out of range (\(k.rangeLabel))")
            }
            return d
        }
        switch k.kind {
        case .string:
            if let s = v as? String { return .string(s) }
            if let i = v as? Int { return .string(String(i)) }
            throw bad()
        case .int:
            if let i = v as? Int { return .int(Int(try checked(Double(i)))) }
            if let d = v as? Double, d == d.rounded(), abs(d) < 9e15 { return .int(Int(try checked(d))) }
            throw bad()
        case .double:
            if let d = v as? Double { return .double(try checked(d)) }
            if let i = v as? Int { return .double(try checked(Double(i))) }
            if let s = v as? String, let d = Double(s) { return .double(try checked(d)) }  // YAML 1.1 reads "1e-3" as a string
            throw bad()
        case .bool:
            if let b = v as? Bool { return .bool(b) }
            throw bad()
        case .strings:
            if let a = v as? [Any] { return .strings(a.map { "\($0)" }) }
            if let s = v as? String { return .strings([s]) }
            throw bad()
        case .choice(let options):
            if let s = v as? String, options.contains(s) { return .string(s) }
            throw ConfigurationError(source: source, message: "\(k.name): \(shown) is not one of \(options.joined(separator: ", "))")
        }
    }

    /// Rules that involve several keys.
    func validate() throws {
        func fail(_ m: String) -> ConfigurationError { ConfigurationError(source: source, message: m) }
        if train.epochs <= 0 && train.maxSteps <= 0 { throw fail("set train.epochs or train.max_steps") }
        let bad = adapter.targetModules.filter { !ModelOptions.allModules.contains($0) }
        if !bad.isEmpty { throw fail("adapter.target_modules: unknown \(bad); valid: \(ModelOptions.allModules.joined(separator: ", "))") }
        do { _ = try adapter.method(source: source) } catch let e as ConfigError {
            throw fail("adapter (\(adapter.type)): \(e.problem)")
        }
    }

    /// The model options this configuration describes (`numLabels` from the task).
    public func modelOptions(numLabels: Int) throws -> ModelOptions {
        var o = ModelOptions(numLabels: numLabels)
        o.adapter = try adapter.method(source: source)
        o.targetModules = adapter.targetModules
        o.fullFineTuning = adapter.fullFineTuning
        o.trainPooler = head.trainPooler
        o.classifierDropout = head.classifierDropout >= 0 ? head.classifierDropout : nil
        o.hiddenDropout = train.hiddenDropout >= 0 ? train.hiddenDropout : nil
        o.attentionDropout = train.attentionDropout >= 0 ? train.attentionDropout : nil
        return o
    }

    /// The training step's settings for `perRankExamples` examples per rank per step.
    public func stepSettings(perRankExamples: Int) -> TrainingStep.Settings {
        TrainingStep.Settings(accumulation: train.accumulation, perRankExamples: perRankExamples, penalty: train.orthPenalty,
                              gamma: Float(train.orthGamma), maxGradNorm: train.maxGradNorm)
    }
}
