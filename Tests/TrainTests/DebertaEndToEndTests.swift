import Testing
import Foundation
import Model
import TensorCore
import TestSupport

/// DeBERTa-v3 through every command, with no Python: a DeBERTa-v3-shaped random model (the tiny
/// golden's options, the Unigram fixture's 3,001-piece vocabulary) and the SentencePiece
/// tokenizer read from `spm.model`; `dcft prepare` tokenizes the shipped RTE, `dcft train` runs
/// DCFT data-parallel with evaluation, `dcft predict` and `dcft merge` use the result.
@Suite("DeBERTa-v3 end to end", .serialized)
struct DebertaEndToEndTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let repository = fixtures.deletingLastPathComponent().path

    /// Writes `dir`: config.json (tiny DeBERTa-v3 options, vocabulary 3,001), random
    /// model.safetensors (N(0, 0.02), LayerNorm weights 1, biases 0) and the tokenizer's spm.model
    /// and tokenizer_config.json (no tokenizer.json: the spm.model path is the one exercised).
    static func makeModel(_ dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let source = fixtures.appendingPathComponent("ModelTests/Fixtures/tiny-deberta-v3/config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as! [String: Any]
        json["vocab_size"] = 3001
        json["id2label"] = nil; json["label2id"] = nil
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let tok = fixtures.appendingPathComponent("DataPipelineTests/Fixtures/deberta-unigram")
        for f in ["spm.model", "tokenizer_config.json"] { try fm.copyItem(atPath: tok.appendingPathComponent(f).path, toPath: dir + "/" + f) }
        let config = try EncoderConfig.load(file: dir + "/config.json")
        let model = try SequenceClassifier(config: config, options: ModelOptions(adapter: nil, numLabels: 2))
        var rng = SeededRNG(seed: 11)
        let tensors: [(name: String, shape: [Int], data: [Float])] = model.store.entries.map { e in
            let n = e.shape.reduce(1, *)
            if e.name.hasSuffix("LayerNorm.weight") { return (e.name, e.shape, [Float](repeating: 1, count: n)) }
            if e.name.hasSuffix(".bias") { return (e.name, e.shape, [Float](repeating: 0, count: n)) }
            return (e.name, e.shape, (0..<n).map { _ in Float(rng.nextNormal()) * 0.02 })
        }
        try SafeTensorsWriter.write(tensors: tensors, metadata: ["format": "pt"], to: dir + "/model.safetensors")
    }

    @Test("prepare (spm.model) → train np=2 with evaluation → predict → merge, on a DeBERTa-v3-shaped model")
    func wholePath() throws {
        let root = try ProcessRunner.temporaryDirectory("dcft-deberta")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = root + "/model", dcft = ProcessRunner.product("dcft")
        try Self.makeModel(model)
        let prep = try ProcessRunner.run(dcft, ["prepare", "--task", "rte", "--data", Self.repository + "/datasets/glue/RTE",
                                                "--model", model, "--out", root + "/data", "--max-length", "64"])
        #expect(prep.status == 0, "\(prep.stdout)\n\(prep.stderr)")
        try """
            task: rte
            model: \(model)
            output_dir: \(root)/run
            data:
              train: \(root)/data/train
              dev: [\(root)/data/dev]
            adapter:
              type: dcft
              kernel: 8
            train:
              max_steps: 12
              batch_size: 16
              lr: 1.0e-3
            eval:
              every_steps: 6
              batch_size: 32
            log:
              every_steps: 6
            """.write(toFile: root + "/config.yaml", atomically: true, encoding: .utf8)
        let train = try ProcessRunner.mpirun(np: 2, "dcft", ["train", "--config", root + "/config.yaml"], timeout: 600)
        #expect(train.status == 0, "\(train.stdout)\n\(train.stderr)")
        #expect(train.stdout.contains("eval step 12 epoch 0: accuracy"), "\(train.stdout)")
        #expect(train.stdout.contains("adapters 992,"), "\(train.stdout)")

        let input = root + "/in.jsonl"
        try "{\"text\": \"The cat sat on the mat.\", \"text_pair\": \"A cat sat.\"}\n{\"text\": \"Über naïve café — 東京\", \"text_pair\": \"🙂\"}\n"
            .write(toFile: input, atomically: true, encoding: .utf8)
        let predict = try ProcessRunner.run(dcft, ["predict", "--model", model, "--adapter", root + "/run/adapter.safetensors",
                                                   "--input", input])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(predict.stdout.split(separator: "\n").filter { $0.contains("\"prediction\"") }.count == 2, "\(predict.stdout)")
        let merge = try ProcessRunner.run(dcft, ["merge", "--model", model, "--adapter", root + "/run/adapter.safetensors",
                                                 "--out", root + "/merged"])
        #expect(merge.status == 0, "\(merge.stderr)")
        let merged = try ProcessRunner.run(dcft, ["predict", "--model", root + "/merged", "--input", input])
        #expect(merged.status == 0, "\(merged.stderr)")
        // The merged model (adapter folded into the weights, spm.model copied) predicts the same.
        func logits(_ s: String) -> [[Double]] {
            s.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .compactMap { ($0["logits"] as? [NSNumber])?.map(\.doubleValue) }
        }
        let a = logits(predict.stdout), b = logits(merged.stdout)
        #expect(a.count == 2 && a.count == b.count)
        for (x, y) in zip(a.flatMap { $0 }, b.flatMap { $0 }) { #expect(abs(x - y) <= 1e-4 * max(1, abs(x)), "adapter \(a) vs merged \(b)") }
    }
}
