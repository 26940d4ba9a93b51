import Foundation

extension SequenceClassifier {
    /// Every tensor of the model under its Hugging Face `*ForSequenceClassification` name, with
    /// adapters merged into their weights (`W0 + ΔW`), in registration order.
    public func mergedTensors() -> [(name: String, shape: [Int], data: [Float])] {
        var merged: [String: [Float]] = [:]
        for layer in layers { for (_, lin) in layer.linears { merged[lin.name + ".weight"] = lin.mergedWeight(store: store) } }
        let adapterNames = adapterParameterNames
        return store.entries.compactMap { e in
            if adapterNames.contains(e.name) { return nil }
            return (e.name, e.shape, merged[e.name] ?? store.get(e.name))
        }
    }

    /// Writes a Hugging Face model directory that `AutoModelForSequenceClassification`
    /// loads unchanged: `model.safetensors` with the merged weights, `config.json` (the base
    /// config with the architecture, labels and problem type set) and the tokenizer files of
    /// `baseDirectory`.
    public func exportMerged(to directory: String, baseDirectory: String, labelNames: [String]) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var cfg = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: baseDirectory + "/config.json")))) as? [String: Any] ?? [:]
        let k = options.numLabels
        let names = labelNames.count == k ? labelNames : (0..<k).map { "LABEL_\($0)" }
        cfg["architectures"] = [config.architecture.family.sequenceClassificationClass]
        cfg["id2label"] = Dictionary(uniqueKeysWithValues: names.enumerated().map { (String($0.offset), $0.element) })
        cfg["label2id"] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
        cfg["problem_type"] = k == 1 ? "regression" : "single_label_classification"
        let json = try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys])
        try SafeTensorsWriter.write(tensors: mergedTensors(), metadata: ["format": "pt"], to: directory + "/model.safetensors")
        try json.write(to: URL(fileURLWithPath: directory + "/config.json"), options: .atomic)
        for f in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                  "spm.model", "added_tokens.json"] {
            let src = baseDirectory + "/" + f, dst = directory + "/" + f
            if fm.fileExists(atPath: src) {
                try? fm.removeItem(atPath: dst)
                try fm.copyItem(atPath: src, toPath: dst)
            }
        }
    }
}
