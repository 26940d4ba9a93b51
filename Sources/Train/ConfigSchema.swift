/// Every configuration key `dcft train` accepts: its type, default and meaning. This table
/// is the single source of truth: the YAML loader validates against it, `--set` overrides go
/// through it, unknown keys get the closest valid name, and `dcft train --list-keys` prints it
/// (README's configuration reference is that output).
public enum ConfigSchema {
    public enum Kind: Sendable, Equatable {
        case string, int, double, bool, strings
        case choice([String])

        var label: String {
            switch self {
            case .string: return "string"
            case .int: return "integer"
            case .double: return "number"
            case .bool: return "bool"
            case .strings: return "list of strings"
            case .choice(let c): return c.joined(separator: "|")
            }
        }
    }

    public struct Key: Sendable {
        public let name: String
        public let kind: Kind
        /// The default as YAML text ("" = no default: required, or derived as documented).
        public let defaultValue: String
        public let doc: String
    }

    public static let keys: [Key] = [
        Key(name: "task", kind: .string, defaultValue: "", doc: "GLUE task (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte) or a JSONL dataset name; picks metrics and labels. Required."),
        Key(name: "model", kind: .string, defaultValue: "models/all-MiniLM-L6-v2", doc: "Hugging Face model directory (config.json, model.safetensors, tokenizer)."),
        Key(name: "output_dir", kind: .string, defaultValue: "runs/{task}", doc: "Run directory: checkpoints, log.jsonl, adapter export. {task} is replaced."),
        Key(name: "data.train", kind: .string, defaultValue: "data/{task}/train", doc: "Tokenized training set directory (dcft prepare)."),
        Key(name: "data.dev", kind: .strings, defaultValue: "[\"data/{task}/dev\"]", doc: "Tokenized dev set directories; MNLI: [dev_matched, dev_mismatched]."),
        Key(name: "adapter.type", kind: .choice(["dcft", "lora", "none"]), defaultValue: "dcft", doc: "Adapter on the encoder's linears; none = head only (or full fine-tuning)."),
        Key(name: "adapter.kernel", kind: .int, defaultValue: "8", doc: "DCFT kernel size d."),
        Key(name: "adapter.stride", kind: .int, defaultValue: "0", doc: "DCFT stride s (0 = d; s < d overlaps kernels)."),
        Key(name: "adapter.alpha", kind: .double, defaultValue: "32", doc: "DCFT α in scale = α / (r + 1e-5)."),
        Key(name: "adapter.r", kind: .double, defaultValue: "8", doc: "DCFT r in the scale (reference code: 8)."),
        Key(name: "adapter.init_std", kind: .double, defaultValue: "0.02", doc: "Std of the N(0, σ²) init of DCFT A, B, C."),
        Key(name: "adapter.target_modules", kind: .strings, defaultValue: "[query, key, value, attention_output, intermediate, output]", doc: "Adapted modules of every layer."),
        Key(name: "adapter.lora_rank", kind: .int, defaultValue: "8", doc: "LoRA rank r."),
        Key(name: "adapter.lora_alpha", kind: .double, defaultValue: "16", doc: "LoRA α (scaling α/r)."),
        Key(name: "adapter.lora_dropout", kind: .double, defaultValue: "0", doc: "LoRA dropout on the adapter input."),
        Key(name: "adapter.full_fine_tuning", kind: .bool, defaultValue: "false", doc: "Train every weight (the baseline); communicates every gradient."),
        Key(name: "head.train_pooler", kind: .bool, defaultValue: "true", doc: "Train BERT's pooler with the classifier (false: classifier only)."),
        Key(name: "head.classifier_dropout", kind: .double, defaultValue: "-1", doc: "Dropout before the classifier (-1: the model config's)."),
        Key(name: "train.epochs", kind: .double, defaultValue: "3", doc: "Epochs to train (fractions allowed)."),
        Key(name: "train.max_steps", kind: .int, defaultValue: "0", doc: "Stop after this many optimizer steps (0: no cap)."),
        Key(name: "train.batch_size", kind: .int, defaultValue: "32", doc: "Global batch per optimizer step = per-rank batch × ranks × accumulation."),
        Key(name: "train.accumulation", kind: .int, defaultValue: "1", doc: "Gradient accumulation steps."),
        Key(name: "train.lr", kind: .double, defaultValue: "1e-3", doc: "Peak learning rate."),
        Key(name: "train.weight_decay", kind: .double, defaultValue: "0.01", doc: "AdamW decoupled weight decay (none on biases and LayerNorm)."),
        Key(name: "train.adam_beta1", kind: .double, defaultValue: "0.9", doc: "AdamW β1."),
        Key(name: "train.adam_beta2", kind: .double, defaultValue: "0.999", doc: "AdamW β2."),
        Key(name: "train.adam_eps", kind: .double, defaultValue: "1e-8", doc: "AdamW ε (added outside the square root)."),
        Key(name: "train.warmup_steps", kind: .int, defaultValue: "0", doc: "Linear warmup steps (then linear decay to 0)."),
        Key(name: "train.warmup_ratio", kind: .double, defaultValue: "0", doc: "Warmup as a fraction of total steps (used when warmup_steps is 0)."),
        Key(name: "train.max_grad_norm", kind: .double, defaultValue: "1.0", doc: "Clip the global gradient norm to this (0: no clipping)."),
        Key(name: "train.orth_gamma", kind: .double, defaultValue: "0.1", doc: "γ of the orthogonality penalty γ·R on DCFT A and B."),
        Key(name: "train.orth_penalty", kind: .choice(["reference", "paper"]), defaultValue: "reference", doc: "R: reference = mean |‖v‖²−1|; paper = Σ (‖v‖²−1)²."),
        Key(name: "train.hidden_dropout", kind: .double, defaultValue: "-1", doc: "Encoder hidden dropout (-1: the model config's)."),
        Key(name: "train.attention_dropout", kind: .double, defaultValue: "-1", doc: "Attention dropout (-1: the model config's)."),
        Key(name: "train.seed", kind: .int, defaultValue: "6", doc: "Seed of initialisation, shuffling and dropout (per-rank streams)."),
        Key(name: "train.threads", kind: .int, defaultValue: "0", doc: "Threads per rank for BLAS and kernels (0: OPENBLAS_NUM_THREADS or cores ÷ local ranks)."),
        Key(name: "train.bucket_window", kind: .int, defaultValue: "50", doc: "Length bucketing window in global batches (1: off)."),
        Key(name: "eval.every_steps", kind: .int, defaultValue: "0", doc: "Evaluate every N optimizer steps (0: at each epoch's end only)."),
        Key(name: "eval.batch_size", kind: .int, defaultValue: "64", doc: "Per-rank evaluation batch."),
        Key(name: "checkpoint.every_steps", kind: .int, defaultValue: "0", doc: "Checkpoint every N optimizer steps (0: at each evaluation)."),
        Key(name: "checkpoint.keep_last", kind: .int, defaultValue: "2", doc: "Checkpoints kept besides the best."),
        Key(name: "log.every_steps", kind: .int, defaultValue: "10", doc: "Progress update every N optimizer steps (log.jsonl gets every step)."),
        Key(name: "log.progress", kind: .choice(["auto", "bar", "plain"]), defaultValue: "auto", doc: "Progress display: a bar redrawn in place, plain lines, or auto (bar when rank 0's stdout is a terminal; mpirun gives ranks a pseudo-terminal, so choose plain when redirecting mpirun's output)."),
    ]

    public static let byName: [String: Key] = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })

    /// The valid key closest to `name` (edit distance), for "did you mean" messages.
    public static func closest(to name: String) -> String? {
        keys.map(\.name).min { editDistance($0, name) < editDistance($1, name) }
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var prev = Array(0...b.count), cur = prev
        for i in 1...a.count {
            cur[0] = i
            if !b.isEmpty {
                for j in 1...b.count {
                    cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    /// The reference table as Markdown.
    public static var markdown: String {
        var s = "| key | type | default | meaning |\n|---|---|---|---|\n"
        for k in keys { s += "| `\(k.name)` | \(k.kind.label) | `\(k.defaultValue.isEmpty ? "—" : k.defaultValue)` | \(k.doc) |\n" }
        return s
    }
}
