import ArgumentParser
import Foundation
import DataPipeline
import Model
import TensorCore

/// `dcft predict`: logits and predictions for text (or text pairs) in JSONL.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write logits and predictions for JSONL input.",
        discussion: """
            Each input line is a JSON object with the text (and, for a model trained on sentence
            pairs, the second text). Each output line: {"index": i, "logits": [...], "prediction":
            class id, "label": name} or, for regression, {"index": i, "score": x}. With --adapter the
            model is the base directory plus the adapter file (dcft export); without, the directory
            itself must hold a classification head (e.g. the output of dcft merge).
            The fields default to those the model was trained on (recorded in the adapter file,
            also in a merged directory's adapter.safetensors): "text", plus "text_pair" for pair
            tasks (MRPC, RTE, STS-B, QNLI, MNLI, QQP), or a JSONL dataset's own field names.
            A row without the pair field for a pair model, or with "text_pair" for a
            single-sentence model, is refused with its line and the field named.
            """)

    @Option(help: "Hugging Face model directory.") var model: String
    @Option(help: "Adapter file written by dcft (safetensors).") var adapter: String?
    @Option(help: "JSONL input.") var input: String
    @Option(help: "JSONL output (default: standard output).") var output: String?
    @Option(help: "Field holding the text (default: the one the model was trained on, else \"text\").") var textField: String?
    @Option(help: "Field holding the second text of a pair (default: the one the model was trained on, \"text_pair\" for GLUE pair tasks).") var pairField: String?
    @Option(help: "Maximum tokens per example, special tokens included.") var maxLength: Int = 128
    @Option(help: "Examples per forward pass.") var batchSize: Int = 32
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Use the adapter even if its base model sha256 differs.") var ignoreBaseMismatch = false

    func run() throws {
        let n = threads ?? ProcessInfo.processInfo.activeProcessorCount
        BLAS.threads = 1           // dcft splits large products itself (Matmul.gemm)
        Parallel.threads = n
        let dir = try ModelDirectory(path: model)
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: model))
        let net: SequenceClassifier
        var labelNames = dir.labelNames
        /// What the model was trained on: the adapter's header (given, or beside a merged model).
        var trainedOn: (header: AdapterFile.Header, file: String)? = nil
        if let adapter {
            let (header, tensors) = try AdapterFile.read(adapter)
            trainedOn = (header, adapter)
            if !ignoreBaseMismatch {
                let sha = try SHA256.hex(file: dir.weightsPath)
                guard sha == header.baseModelSHA256 else {
                    throw ValidationError("\(adapter) was trained on base weights \(header.baseModelSHA256.prefix(12))…, but \(dir.weightsPath) is \(sha.prefix(12))… (--ignore-base-mismatch to use it anyway)")
                }
            }
            net = try SequenceClassifier.pretrained(dir, options: header.options)
            try AdapterFile.apply(tensors, to: net, file: adapter)
            if !header.labelNames.isEmpty { labelNames = header.labelNames }
        } else {
            let k = dir.config.numLabels ?? 2
            net = try SequenceClassifier(config: dir.config, options: ModelOptions(adapter: nil, numLabels: k))
            let loaded = try net.load(from: try SafeTensorsFile(path: dir.weightsPath), sourceName: dir.weightsPath)
            guard loaded.contains(net.head.projection.name + ".weight") else {
                throw ValidationError("\(model) has no classification head (\(net.head.projection.name).weight); pass --adapter, or a directory written by `dcft merge`")
            }
            let beside = model + "/adapter.safetensors"  // dcft merge writes it next to the merged weights
            if FileManager.default.fileExists(atPath: beside) { trainedOn = (try AdapterFile.read(beside).header, beside) }
        }
        let header = trainedOn?.header
        let recorded = header.flatMap { h in h.textField.map { InputFields(text: $0, pair: h.pairField) } }
        let reader = try JSONLReader.forPrediction(trainedOn: recorded ?? GLUETask(name: header?.task ?? "")?.inputFields,
                                                   task: header?.task ?? "", source: trainedOn?.file ?? model,
                                                   textOption: textField, pairOption: pairField)
        let examples = try reader.read(file: input).examples
        let encodings = DatasetPreparer.encode(examples, tokenizer: tokenizer, maxLength: maxLength, threads: n)
        let k = net.options.numLabels
        var logits = [[Float]](repeating: [], count: examples.count)
        let order = encodings.indices.sorted { encodings[$0].count < encodings[$1].count }
        var rng = SeededRNG(seed: 0)
        let pad = tokenizer.specialTokenIDs.pad
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let idx = Array(order[start..<min(order.count, start + batchSize)])
            let L = idx.map { encodings[$0].count }.max() ?? 1
            var ids = [Int32](repeating: pad, count: idx.count * L), types = [Int32](repeating: 0, count: idx.count * L)
            var mask = [Float](repeating: 0, count: idx.count * L)
            for (r, i) in idx.enumerated() {
                let e = encodings[i]
                for t in 0..<e.count { ids[r * L + t] = e.inputIDs[t]; types[r * L + t] = e.tokenTypeIDs[t]; mask[r * L + t] = 1 }
            }
            let out = try net.forward(inputIDs: ids, tokenTypeIDs: types, attentionMask: mask, batch: idx.count, length: L,
                                      training: false, rng: &rng)
            for (r, i) in idx.enumerated() { logits[i] = Array(UnsafeBufferPointer(start: out + r * k, count: k)) }
        }
        var text = ""
        for (i, l) in logits.enumerated() {
            if k == 1 {
                text += "{\"index\": \(i), \"score\": \(l[0])}\n"
            } else {
                let p = l.indices.max { l[$0] < l[$1] }!
                let name = p < labelNames.count ? ", \"label\": \"\(labelNames[p])\"" : ""
                text += "{\"index\": \(i), \"logits\": [\(l.map { "\($0)" }.joined(separator: ", "))], \"prediction\": \(p)\(name)}\n"
            }
        }
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(text, terminator: "")
        }
    }
}
