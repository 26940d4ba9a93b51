import ArgumentParser
import Foundation
import DataPipeline

/// `dcft prepare`: tokenizes a GLUE task (official TSV layout) or a JSONL file into the HDF5
/// dataset format, one directory per split.
struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize a GLUE task (or JSONL) into an HDF5 dataset.",
        discussion: """
            GLUE: reads DATA/{train,dev}.tsv (MNLI: train, dev_matched, dev_mismatched) in the official
            layout and writes OUT/<split>/shard-*.h5. JSONL: --jsonl FILE --name NAME --split SPLIT with
            --text-field/--pair-field/--label-field, and --labels a,b,c or --regression.
            GLUE files are streamed: read, tokenized and written shard by shard, so memory holds one
            shard (--shard-examples rows) whatever the file's size. Each split is written under a
            temporary name and renamed when complete.
            """)

    @Option(help: "GLUE task: cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte.") var task: String?
    @Option(help: "Folder with the task's TSV files.") var data: String?
    @Option(help: "JSONL file (instead of --task/--data).") var jsonl: String?
    @Option(help: "Dataset name for JSONL input.") var name: String?
    @Option(help: "Split name for JSONL input.") var split: String = "train"
    @Option(help: "JSONL field holding the text.") var textField: String = "text"
    @Option(help: "JSONL field holding the second text of a pair.") var pairField: String?
    @Option(help: "JSONL field holding the label.") var labelField: String = "label"
    @Option(help: "JSONL class names in id order, comma-separated.") var labels: String?
    @Flag(help: "JSONL labels are float scores.") var regression = false
    @Option(help: "Hugging Face model directory (its tokenizer is used).") var model: String
    @Option(help: "Output folder; one sub-folder per split.") var out: String
    @Option(help: "Maximum tokens per example, special tokens included.") var maxLength: Int = 128
    @Option(help: "Shard files per split (default: as many as --shard-examples needs).") var shards: Int?
    @Option(help: "Examples per shard file, when --shards is not given.") var shardExamples: Int = 65536
    @Option(help: "Tokenizer threads (default: all cores).") var threads: Int?
    @Flag(help: "Skip and count malformed rows instead of stopping at the first.") var skipBad = false

    func validate() throws {
        if (task == nil) == (jsonl == nil) { throw ValidationError("give either --task with --data, or --jsonl") }
        if task != nil && data == nil { throw ValidationError("--task needs --data (the folder with the task's TSV files)") }
        if let t = task, GLUETask(name: t) == nil {
            throw ValidationError("unknown task \"\(t)\"; valid: \(GLUETask.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if jsonl != nil && name == nil { throw ValidationError("--jsonl needs --name") }
        if maxLength < 4 { throw ValidationError("--max-length must be at least 4") }
        if let shards, shards < 1 { throw ValidationError("--shards must be at least 1") }
        if shardExamples < 1 { throw ValidationError("--shard-examples must be at least 1") }
    }

    func run() throws {
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: model))
        let tokSHA = try tokenizer.source.map { try SHA256.hex(file: $0.path) } ?? "none"
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        typealias Batches = (_ body: ([Example], [DataError]) throws -> Void) throws -> Void
        var jobs: [(split: String, file: String, batches: Batches)] = []
        let taskName: String, labelNames: [String], numLabels: Int, isRegression: Bool, fields: InputFields
        if let t = task.flatMap(GLUETask.init(name:)), let data {
            taskName = t.rawValue; labelNames = t.labelNames; numLabels = t.numLabels; isRegression = t.isRegression
            fields = t.inputFields
            for s in t.labelledSplits {
                let file = "\(data)/\(s).tsv"
                if FileManager.default.fileExists(atPath: file) {
                    jobs.append((s, file, { body in try GLUEReader.forEachBatch(task: t, file: file, skipBad: skipBad, body) }))
                }
            }
            if jobs.isEmpty {
                throw DataError(file: data, line: 0, problem: "no \(t.labelledSplits.map { $0 + ".tsv" }.joined(separator: " or ")) in this folder")
            }
        } else {
            let names = labels.map { $0.split(separator: ",").map(String.init) } ?? []
            taskName = name!; labelNames = names; isRegression = regression
            numLabels = regression ? 1 : max(names.count, 2)
            fields = InputFields(text: textField, pair: pairField)
            let reader = JSONLReader(textField: textField, pairField: pairField, labelField: labelField, labelNames: names)
            let file = jsonl!
            jobs.append((split, file, { body in let r = try reader.read(file: file, skipBad: skipBad); try body(r.examples, r.skipped) }))
        }
        for job in jobs {
            // --shards N: size the shards from the file's line count (an upper bound on its rows).
            let perShard = try shards.map { max(1, (try Self.lineCount(job.file) + $0 - 1) / $0) } ?? shardExamples
            let r = try DatasetPreparer.prepare(
                batches: job.batches, sourceFile: job.file, task: taskName, split: job.split, labelNames: labelNames,
                numLabels: numLabels, isRegression: isRegression, inputFields: fields, tokenizer: tokenizer, tokenizerSHA256: tokSHA,
                maxLength: maxLength, outDirectory: "\(out)/\(job.split)", shardExamples: perShard, minimumShards: shards ?? 1,
                threads: threads)
            print(String(format: "%@ %@: %d examples, %d tokens (%.1f per example), %d at max_length %d, %.2f s (%.0f examples/s) -> %@",
                         taskName, r.split, r.examples, r.tokens, Double(r.tokens) / Double(max(r.examples, 1)), r.truncated,
                         maxLength, r.seconds, Double(r.examples) / max(r.seconds, 1e-9), r.directory))
            if !r.skipped.isEmpty {
                print("  skipped \(r.skipped.count) malformed row(s):")
                for e in r.skipped.prefix(10) { print("    \(e)") }
                if r.skipped.count > 10 { print("    … \(r.skipped.count - 10) more") }
            }
        }
    }

    /// Newlines in `file`, read in chunks.
    static func lineCount(_ file: String) throws -> Int {
        guard let h = fopen(file, "rb") else { throw DataError(file: file, line: 0, problem: "no such file") }
        defer { fclose(h) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20), n = 0
        while case let got = fread(&buffer, 1, buffer.count, h), got > 0 {
            n += buffer[..<got].reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        }
        return n
    }
}
