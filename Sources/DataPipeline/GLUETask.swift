/// The eight GLUE tasks dcft prepares, with their official TSV layouts (as written by
/// GLUE's `download_glue_data.py`) and label maps.
///
/// Label ids follow Hugging Face `datasets`' `glue` configs, which the reference DCFT code
/// trains on: RTE/QNLI `entailment`=0, `not_entailment`=1; MNLI `entailment`=0,
/// `neutral`=1, `contradiction`=2; binary tasks keep their 0/1; STS-B is a float in [0, 5].
public enum GLUETask: String, CaseIterable, Sendable {
    case cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte

    /// Parses a task name as users write it: "CoLA", "sst-2", "STS-B", "mnli", ...
    public init?(name: String) {
        let key = name.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "")
        self.init(rawValue: key)
    }

    /// The folder name in a GLUE download ("CoLA", "SST-2", ...).
    public var folderName: String {
        switch self {
        case .cola: return "CoLA"
        case .sst2: return "SST-2"
        case .mrpc: return "MRPC"
        case .stsb: return "STS-B"
        case .qqp: return "QQP"
        case .mnli: return "MNLI"
        case .qnli: return "QNLI"
        case .rte: return "RTE"
        }
    }

    /// Splits that carry labels, by file stem.
    public var labelledSplits: [String] {
        self == .mnli ? ["train", "dev_matched", "dev_mismatched"] : ["train", "dev"]
    }

    /// Whether examples are sentence pairs.
    public var isPair: Bool { !(self == .cola || self == .sst2) }

    /// The JSONL fields `dcft predict` reads for this task by default: `text`, plus `text_pair`
    /// for pair tasks.
    public var inputFields: InputFields { InputFields(text: "text", pair: isPair ? "text_pair" : nil) }

    /// Whether the target is a float score (STS-B) rather than a class.
    public var isRegression: Bool { self == .stsb }

    /// Number of model outputs: classes, or 1 for regression.
    public var numLabels: Int {
        switch self {
        case .stsb: return 1
        case .mnli: return 3
        default: return 2
        }
    }

    /// Class names in id order (empty for regression).
    public var labelNames: [String] {
        switch self {
        case .rte, .qnli: return ["entailment", "not_entailment"]
        case .mnli: return ["entailment", "neutral", "contradiction"]
        case .stsb: return []
        default: return ["0", "1"]
        }
    }

    /// Where the fields are. Tasks with a header are located by column *name* (robust to
    /// MNLI's 12-column train vs 16-column dev files); CoLA has no header and uses positions.
    public enum Layout: Sendable {
        /// No header line: fixed column positions.
        case positional(textA: Int, textB: Int?, label: Int, columns: Int)
        /// A header line; column names for each field.
        case named(textA: String, textB: String?, label: String)
    }

    public var layout: Layout {
        switch self {
        case .cola: return .positional(textA: 3, textB: nil, label: 1, columns: 4)
        case .sst2: return .named(textA: "sentence", textB: nil, label: "label")
        case .mrpc: return .named(textA: "#1 String", textB: "#2 String", label: "Quality")
        case .stsb: return .named(textA: "sentence1", textB: "sentence2", label: "score")
        case .qqp: return .named(textA: "question1", textB: "question2", label: "is_duplicate")
        case .mnli: return .named(textA: "sentence1", textB: "sentence2", label: "gold_label")
        case .qnli: return .named(textA: "question", textB: "sentence", label: "label")
        case .rte: return .named(textA: "sentence1", textB: "sentence2", label: "label")
        }
    }

    /// The task's dev metrics, first one the headline (used to keep the best checkpoint).
    public var metricNames: [String] {
        switch self {
        case .cola: return ["mcc"]
        case .mrpc, .qqp: return ["accuracy", "f1"]
        case .stsb: return ["pearson", "spearman"]
        default: return ["accuracy"]
        }
    }
}
