import Testing
import Foundation
import TensorCore
import Model
import DataPipeline

@Suite("Real all-MiniLM-L6-v2: predict and merge against Hugging Face", .serialized, .enabled(if: E2E.available))
struct MiniLMTests {
    /// A DCFT adapter on the real model with visibly large increments (σ = 0.3 makes
    /// scale·A·B·C ≈ 0.1), written to an adapter file the CLI reads.
    func makeAdapter(in dir: String, kernel: Int, numLabels: Int, task: String = "rte") throws -> String {
        let md = try ModelDirectory(path: E2E.miniLM)
        let opts = ModelOptions(adapter: DCFTOptions(kernel: kernel, alpha: 32, initStd: 0.3), numLabels: numLabels)
        let model = try SequenceClassifier.pretrained(md, options: opts, seed: 11)
        let path = dir + "/adapter-d\(kernel).safetensors"
        try AdapterFile.write(model: model, to: path, baseModelSHA256: try SHA256.hex(file: md.weightsPath),
                              labelNames: numLabels == 2 ? ["entailment", "not_entailment"] : [], task: task)
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
        // No --pair-field: the adapter's task (rte) says the model takes pairs.
        let p = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", adapter, "--input", dir + "/in.jsonl",
                              "--max-length", "128", "--batch-size", "5"])
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
        let p2 = try E2E.dcft(["predict", "--model", dir + "/merged", "--input", dir + "/in.jsonl"])
        #expect(p2.status == 0, "\(p2.stderr)")
        expectLogitsClose(try E2E.predictLogits(p2.stdout), ours, "merged dcft predict")
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/merged/adapter.safetensors")[.size] as! Int
        #expect(size < 1_000_000, "adapter-only file is \(size) bytes")
    }

    @Test("single sentences (SST-2) through predict and the merged export")
    func singleSentences() throws {
        let dir = try E2E.temporaryDirectory()
        let adapter = try makeAdapter(in: dir, kernel: 8, numLabels: 2, task: "sst2")
        try E2E.jsonl(task: "SST-2", columns: [0], rows: 20).write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        let p = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", adapter, "--input", dir + "/in.jsonl"])
        #expect(p.status == 0, "\(p.stderr)")
        let m = try E2E.dcft(["merge", "--model", E2E.miniLM, "--adapter", adapter, "--out", dir + "/merged"])
        #expect(m.status == 0, "\(m.stderr)")
        let hf = try E2E.run("python3", [E2E.scripts + "/hf_logits.py", "merged", dir + "/merged", dir + "/in.jsonl", "128"])
        #expect(hf.status == 0, "\(hf.stderr)")
        expectLogitsClose(try E2E.predictLogits(p.stdout), try E2E.pythonLogits(hf), "SST-2 predict vs merged export")
    }

    @Test("MRPC dev as JSONL (text + text_pair, no flag): predict's accuracy equals dcft eval's on the prepared dev set; mismatched rows are refused")
    func predictEqualsEvalOnMRPC() throws {
        let dir = try E2E.temporaryDirectory()
        let prep = try E2E.dcft(["prepare", "--task", "mrpc", "--data", E2E.glue + "/MRPC", "--model", E2E.miniLM,
                                 "--out", dir + "/data", "--max-length", "128"])
        #expect(prep.status == 0, "\(prep.stderr)")
        try """
            task: mrpc
            model: \(E2E.miniLM)
            output_dir: \(dir)/run
            data:
              train: \(dir)/data/train
              dev: [\(dir)/data/dev]
            adapter:
              type: dcft
              kernel: 8
              alpha: 32
            train:
              max_steps: 8
              batch_size: 16
              lr: 2.0e-3
              warmup_steps: 1
              seed: 3
            eval:
              every_steps: 8
              batch_size: 64
            """.write(toFile: dir + "/mrpc.yaml", atomically: true, encoding: .utf8)
        let train = try E2E.dcft(["train", "--config", dir + "/mrpc.yaml"])
        #expect(train.status == 0, "\(train.stdout)\n\(train.stderr)")
        let eval = try E2E.dcft(["eval", "--config", dir + "/mrpc.yaml", "--checkpoint", dir + "/run/ckpt-step00000008.h5"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let words = eval.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        let evalAccuracy = try #require(words.firstIndex(of: "accuracy").flatMap { Double(words[$0 + 1]) }, "\(eval.stdout)")

        // The dev rows as JSONL with the fields a user would write, labels kept aside.
        let rows = try String(contentsOfFile: E2E.glue + "/MRPC/dev.tsv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 408)
        try E2E.jsonl(task: "MRPC", columns: [3, 4], rows: 408).write(toFile: dir + "/dev.jsonl", atomically: true, encoding: .utf8)
        let p = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", dir + "/run/adapter.safetensors", "--input", dir + "/dev.jsonl"])
        #expect(p.status == 0, "\(p.stderr)")
        let predictions = try p.stdout.split(separator: "\n").map { line in
            ((try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["prediction"] as! NSNumber).intValue
        }
        #expect(predictions.count == 408)
        let correct = zip(predictions, rows).filter { $0 == Int($1[0]) }.count
        let accuracy = Double(correct) / Double(rows.count)
        #expect(abs(accuracy - evalAccuracy) < 0.5e-4 + 1e-9, "predict \(accuracy) vs eval \(evalAccuracy)")
        // The flag that used to be needed changes nothing.
        let flagged = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", dir + "/run/adapter.safetensors",
                                    "--input", dir + "/dev.jsonl", "--pair-field", "text_pair"])
        #expect(flagged.stdout == p.stdout)

        // A row without the pair: refused, naming the row and the field.
        try "{\"text\": \"One.\", \"text_pair\": \"Two.\"}\n{\"text\": \"Alone.\"}\n".write(toFile: dir + "/half.jsonl", atomically: true, encoding: .utf8)
        let half = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", dir + "/run/adapter.safetensors", "--input", dir + "/half.jsonl"])
        #expect(half.status != 0 && half.stderr.contains("half.jsonl:2: missing string field \"text_pair\""), "\(half.stderr)")
        // Pairs given to a single-sentence (SST-2) adapter: refused the same way.
        let sst2 = try makeAdapter(in: dir, kernel: 8, numLabels: 2, task: "sst2")
        let wrong = try E2E.dcft(["predict", "--model", E2E.miniLM, "--adapter", sst2, "--input", dir + "/half.jsonl"])
        #expect(wrong.status != 0 && wrong.stderr.contains("half.jsonl:1: field \"text_pair\" is present"), "\(wrong.stderr)")
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
