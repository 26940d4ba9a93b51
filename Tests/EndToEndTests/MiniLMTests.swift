import Testing
import Foundation
import TensorCore
import Model
import DataPipeline

@Suite("Real all-MiniLM-L6-v2: predict and merge against Hugging Face", .serialized, .enabled(if: E2E.available))
struct MiniLMTests {
    /// A DCFT adapter on the real model with visibly large increments (σ = 0.3 makes
    /// scale·A·B·C ≈ 0.1), written to an adapter file the CLI reads.
    func makeAdapter(in dir: String, kernel: Int, numLabels: Int) throws -> String {
        let md = try ModelDirectory(path: E2E.miniLM)
        let opts = ModelOptions(adapter: .dcft(DCFTOptions(kernel: kernel, alpha: 32, initStd: 0.3)), numLabels: numLabels)
        let model = try SequenceClassifier.pretrained(md, options: opts, seed: 11)
        let path = dir + "/adapter-d\(kernel).safetensors"
        try AdapterFile.write(model: model, to: path, baseModelSHA256: try SHA256.hex(file: md.weightsPath),
                              labelNames: numLabels == 2 ? ["entailment", "not_entailment"] : [], task: "rte")
        return path
    }

    func expectLogitsClose(_ a: [[Double]], _ b: [[Double]], _ what: String, tol: Double = 1e-4,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count && !a.isEmpty, "\(what): \(a.count) vs \(b.count) rows", sourceLocation: sourceLocation)
        var worst = 0.0
        for (r, s) in zip(a, b) { for (x, y) in zip(r, s) { worst = max(worst, abs(x - y) / max(1, abs(y))) } }
        #expect(worst <= tol, "\(what): worst relative difference \(worst)", sourceLocation: sourceLocation)
    }

    @Test("dcft predict equals reference DCFT (conv_transpose2d) in transformers, and the merged export in transformers, on RTE pairs",
          arguments: [8, 2])
    func predictAndMergeRTE(kernel: Int) throws {
        let dir = try E2E.temporaryDirectory()
        let adapter = try makeAdapter(in: dir, kernel: kernel, numLabels: 2)
        try E2E.jsonl(task: "RTE", columns: [1, 2], rows: 24).write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        let p = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", adapter, "--input", dir + "/in.jsonl",
                              "--pair-field", "text_pair", "--max-length", "128", "--batch-size", "5"])
        #expect(p.status == 0, "\(p.stderr)")
        let ours = try E2E.predictLogits(p.stdout)
        #expect(ours.count == 24)

        let ref = try E2E.run("python3", [E2E.scripts + "/hf_logits.py", "reference", E2E.miniLM, adapter, dir + "/in.jsonl", "128"])
        #expect(ref.status == 0, "\(ref.stderr)")
        expectLogitsClose(ours, try E2E.pythonLogits(ref), "predict vs reference DCFT in transformers (d=\(kernel))")

        let m = try E2E.dcft(["merge", "--model", E2E.miniLM, "--adapter", adapter, "--out", dir + "/merged"])
        #expect(m.status == 0, "\(m.stderr)")
        let hf = try E2E.run("python3", [E2E.scripts + "/hf_logits.py", "merged", dir + "/merged", dir + "/in.jsonl", "128"])
        #expect(hf.status == 0, "\(hf.stderr)")
        expectLogitsClose(ours, try E2E.pythonLogits(hf), "predict vs merged export in transformers (d=\(kernel))")

        // The merged directory predicts the same without the adapter, and the adapter-only file is small.
        let p2 = try E2E.dcft(["predict", "--model", dir + "/merged", "--input", dir + "/in.jsonl", "--pair-field", "text_pair"])
        #expect(p2.status == 0, "\(p2.stderr)")
        expectLogitsClose(try E2E.predictLogits(p2.stdout), ours, "merged dcft predict")
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/merged/adapter.safetensors")[.size] as! Int
        #expect(size < 1_000_000, "adapter-only file is \(size) bytes")
    }

    @Test("single sentences (SST-2) through predict and the merged export")
    func singleSentences() throws {
        let dir = try E2E.temporaryDirectory()
        let adapter = try makeAdapter(in: dir, kernel: 8, numLabels: 2)
        try E2E.jsonl(task: "SST-2", columns: [0], rows: 20).write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        let p = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", adapter, "--input", dir + "/in.jsonl"])
        #expect(p.status == 0, "\(p.stderr)")
        let m = try E2E.dcft(["merge", "--model", E2E.miniLM, "--adapter", adapter, "--out", dir + "/merged"])
        #expect(m.status == 0, "\(m.stderr)")
        let hf = try E2E.run("python3", [E2E.scripts + "/hf_logits.py", "merged", dir + "/merged", dir + "/in.jsonl", "128"])
        #expect(hf.status == 0, "\(hf.stderr)")
        expectLogitsClose(try E2E.predictLogits(p.stdout), try E2E.pythonLogits(hf), "SST-2 predict vs merged export")
    }

    @Test("bad input: a wrong base model, a corrupted adapter file, a model directory without a head")
    func errors() throws {
        let dir = try E2E.temporaryDirectory()
        let adapter = try makeAdapter(in: dir, kernel: 8, numLabels: 2)
        try "{\"text\": \"hello\"}\n".write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        // Base without a classification head.
        let noHead = try E2E.dcft(["predict", "--model", E2E.miniLM, "--input", dir + "/in.jsonl"])
        #expect(noHead.status != 0 && noHead.stderr.contains("has no classification head"), "\(noHead.stderr)")
        // Corrupted adapter: truncated.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: adapter))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.safetensors"))
        let cut = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", dir + "/cut.safetensors", "--input", dir + "/in.jsonl"])
        #expect(cut.status != 0 && cut.stderr.contains("cut.safetensors"), "\(cut.stderr)")
        // Adapter recorded for other base weights.
        let st = try SafeTensorsFile(path: adapter)
        var meta = st.metadata
        meta["base_model_sha256"] = String(repeating: "0", count: 64)
        try SafeTensorsWriter.write(tensors: try st.names.map { ($0, try st.info($0).shape, try st.floats($0)) }, metadata: meta,
                                    to: dir + "/other.safetensors")
        let other = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", dir + "/other.safetensors", "--input", dir + "/in.jsonl"])
        #expect(other.status != 0 && other.stderr.contains("was trained on base weights 000000000000"), "\(other.stderr)")
    }
}
