import ArgumentParser
import Foundation
import DataPipeline
import Model

/// `dcft merge`: folds an adapter into its base model and writes a Hugging Face model
/// directory (`model.safetensors` with `W0 + ΔW`, `config.json`, tokenizer files) that
/// transformers loads unchanged, plus the adapter-only file beside it.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge an adapter into its base model and export a Hugging Face model directory.")

    @Option(help: "The base Hugging Face model directory the adapter was trained on.") var model: String
    @Option(help: "Adapter file (safetensors written by dcft).") var adapter: String
    @Option(help: "Output directory (created).") var out: String
    @Flag(help: "Merge even if the base weights' sha256 differs from the adapter's record.") var ignoreBaseMismatch = false

    func run() throws {
        let dir = try ModelDirectory(path: model)
        let (header, tensors) = try AdapterFile.read(adapter)
        let sha = try SHA256.hex(file: dir.weightsPath)
        if sha != header.baseModelSHA256 && !ignoreBaseMismatch {
            throw ValidationError("\(adapter) was trained on base weights \(header.baseModelSHA256.prefix(12))…, but \(dir.weightsPath) is \(sha.prefix(12))… (use --ignore-base-mismatch to merge anyway)")
        }
        let m = try SequenceClassifier.pretrained(dir, options: header.options)
        try AdapterFile.apply(tensors, to: m, file: adapter)
        try m.exportMerged(to: out, baseDirectory: model, labelNames: header.labelNames)
        try AdapterFile.write(model: m, to: out + "/adapter.safetensors", baseModelSHA256: sha,
                              labelNames: header.labelNames, task: header.task,
                              textField: header.textField, pairField: header.pairField)
        let size = (try? FileManager.default.attributesOfItem(atPath: out + "/adapter.safetensors")[.size] as? Int) ?? 0
        print("merged \(adapter) into \(model) -> \(out)/model.safetensors (+ config.json, tokenizer files)")
        print("adapter-only file: \(out)/adapter.safetensors (\(m.store.trainableParameterCount) parameters, \(size / 1024) KiB)")
    }
}
