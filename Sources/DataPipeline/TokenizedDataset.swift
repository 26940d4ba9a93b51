/// The tokenized dataset format (docs/DESIGN.md §4), version 1.
///
/// A dataset is a directory of `N` shard files `shard-00000-of-0000N.h5`; shard `k` holds a
/// contiguous run of examples starting at global index `first_example`. Each file has:
///
/// | dataset | type | shape | meaning |
/// |---|---|---|---|
/// | `input_ids` | int32 | `[tokens]` | every example's ids, concatenated, no padding |
/// | `token_type_ids` | int8 | `[tokens]` | segment ids, aligned with `input_ids` |
/// | `offsets` | int64 | `[n + 1]` | example `i` is `input_ids[offsets[i] ..< offsets[i+1]]` |
/// | `labels` | int32 `[n]` (classes) or float32 `[n]` (regression) | | −1 / NaN when unlabelled |
///
/// and the attributes listed in `DatasetMetadata`, which readers check.
public enum TokenizedDatasetFormat {
    public static let name = "dcft-tokenized"
    public static let version: Int64 = 1

    /// File name of shard `index` of `count`.
    public static func shardName(_ index: Int, of count: Int) -> String {
        func pad(_ v: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        return "shard-\(pad(index))-of-\(pad(count)).h5"
    }
}

/// The JSONL field names an input row carries: the text and, for sentence-pair tasks, the
/// second text. GLUE tasks use `text` and `text_pair` (the Hugging Face pipeline's names).
public struct InputFields: Equatable, Sendable {
    public var text: String
    /// The second text's field; `nil` for single-sentence tasks.
    public var pair: String?

    public init(text: String = "text", pair: String? = nil) { self.text = text; self.pair = pair }

    public var isPair: Bool { pair != nil }
}

/// Self-describing attributes of a tokenized dataset (identical in every shard but for the
/// shard fields).
public struct DatasetMetadata: Equatable, Sendable {
    /// Task name, e.g. "rte", or a user name for JSONL data.
    public var task: String
    /// Split, e.g. "train", "dev_matched".
    public var split: String
    /// Tokenizer kind and source, e.g. "bert-wordpiece:vocab.txt".
    public var tokenizerName: String
    /// sha256 of the tokenizer file the ids came from.
    public var tokenizerSHA256: String
    /// Maximum sequence length (special tokens included) the examples were truncated to.
    public var maxLength: Int
    /// Number of classes, 1 for regression.
    public var numLabels: Int
    /// Class names in id order (empty for regression).
    public var labelNames: [String]
    /// Whether labels are float scores.
    public var isRegression: Bool
    /// Whether the split carries labels.
    public var hasLabels: Bool
    /// Examples in the whole dataset (all shards).
    public var numExamples: Int
    /// sha256 of the source TSV/JSONL file.
    public var sourceSHA256: String
    /// The tokenizer's padding id, used to pad batches.
    public var padTokenID: Int32
    /// This file's shard index and the number of shards.
    public var shardIndex: Int = 0
    public var shardCount: Int = 1
    /// Global index of this shard's first example.
    public var firstExample: Int = 0
    /// The JSONL fields an input row of this task has (attributes `text_field` and `pair_field`,
    /// `pair_field` empty for single sentences): what `dcft predict` expects by default. `nil`
    /// for datasets written before these attributes existed; `effectiveInputFields` then falls
    /// back to the GLUE task's shape.
    public var inputFields: InputFields? = nil

    /// `inputFields`, or for older datasets of a GLUE task the task's default fields.
    public var effectiveInputFields: InputFields? { inputFields ?? GLUETask(name: task)?.inputFields }

    public init(task: String, split: String, tokenizerName: String, tokenizerSHA256: String, maxLength: Int,
                numLabels: Int, labelNames: [String], isRegression: Bool, hasLabels: Bool, numExamples: Int,
                sourceSHA256: String, padTokenID: Int32) {
        self.task = task; self.split = split; self.tokenizerName = tokenizerName
        self.tokenizerSHA256 = tokenizerSHA256; self.maxLength = maxLength; self.numLabels = numLabels
        self.labelNames = labelNames; self.isRegression = isRegression; self.hasLabels = hasLabels
        self.numExamples = numExamples; self.sourceSHA256 = sourceSHA256; self.padTokenID = padTokenID
    }

    /// The same metadata with the per-shard fields cleared, for comparing shards.
    var datasetWide: DatasetMetadata {
        var m = self
        m.shardIndex = 0; m.firstExample = 0
        return m
    }
}
