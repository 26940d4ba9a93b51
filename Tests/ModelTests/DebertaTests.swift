import Testing
import Foundation
import TensorCore
@testable import Model
import Train

/// DeBERTa-v2/v3 beyond the transformers goldens (GoldenTests' `deberta-*` cases): the paper's
/// parameter counts on the DeBERTaV3-base shape, the log buckets bit for bit, evaluation and
/// padding invariance, merge into weights transformers loads, and refused options.
@Suite("DeBERTa-v2/v3")
struct DebertaTests {
    /// microsoft/deberta-v3-base's config.json (no weights needed to count parameters).
    static let v3Base = """
        {"model_type": "deberta-v2", "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
         "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 512,
         "relative_attention": true, "position_buckets": 256, "norm_rel_ebd": "layer_norm", "share_att_key": true,
         "pos_att_type": "p2c|c2p", "layer_norm_eps": 1e-7, "max_relative_positions": -1, "position_biased_input": false,
         "num_attention_heads": 12, "num_hidden_layers": 12, "type_vocab_size": 0, "vocab_size": 128100}
        """

    static func writeConfig(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("deberta-\(UUID().uuidString).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("the paper's counts on DeBERTaV3-base from its config alone: 25,344 at d=8, 83,232 at d=2",
          arguments: [(8, 25_344), (2, 83_232)])
    func paperCounts(d: Int, expected: Int) throws {
        let cfg = try EncoderConfig.load(file: Self.writeConfig(Self.v3Base))
        let rel = try #require(cfg.disentangled)
        #expect(rel.span == 256 && rel.maxRelativePositions == 512 && rel.shareAttentionKey && rel.scaleFactor == 3)
        #expect(!rel.positionBiasedInput && cfg.typeVocabSize == 0 && cfg.layerNormEps == 1e-7)
        let model = try SequenceClassifier(config: cfg, options: ModelOptions(adapter: DCFTOptions(kernel: d), numLabels: 3))
        #expect(model.adapterParameterCount == expected)
        #expect(model.adapters.count == 72)
        // Trainable: adapters + ContextPooler dense + classifier; nothing else (no position tables exist).
        #expect(model.store.trainableParameterCount == expected + (768 * 768 + 768) + (3 * 768 + 3))
        #expect(model.store.entry("deberta.embeddings.position_embeddings.weight") == nil)
        #expect(model.store.entry("deberta.encoder.rel_embeddings.weight")?.shape == [512, 768])
        #expect(model.layers[0].query.name == "deberta.encoder.layer.0.attention.self.query_proj")
    }

    @Test("log-bucketed relative positions equal transformers' make_log_bucket_position everywhere")
    func buckets() throws {
        let url = ModelFixtures.root.appendingPathComponent("goldens/deberta-buckets.json")
        let tables = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
        #expect(tables.count == 4)
        for t in tables {
            let buckets = (t["buckets"] as! NSNumber).intValue, maxPos = (t["max_position"] as! NSNumber).intValue
            let from = (t["from"] as! NSNumber).intValue, want = (t["bucket"] as! [NSNumber]).map(\.intValue)
            let got = want.indices.map { DisentangledConfig.logBucket(from + $0, buckets: buckets, maxPosition: maxPos) }
            #expect(got == want, "buckets \(buckets), max \(maxPos): first difference at r = \(from + (got.indices.first { got[$0] != want[$0] } ?? 0))")
        }
        // The index the attention reads: δ(i, j) = clamp(bucket(i − j) + S, 0, 2S − 1), offset by its minimum.
        let d = DisentangledConfig(embeddingSize: 8, positionBuckets: 8, maxRelativePositions: 64)
        let (index, lo, count) = d.relativeIndex(length: 12)
        #expect(lo + Int(index[0 * 12 + 11]) == 8 + DisentangledConfig.logBucket(-11, buckets: 8, maxPosition: 64))
        #expect(Int(index.max()!) == count - 1 && index.min() == 0)
        #expect(lo + Int(index[5 * 12 + 5]) == 8)   // i = j: the middle row S
    }

    /// The golden model's logits for `ids` (rows padded to `length`), in evaluation mode.
    static func logits(_ model: SequenceClassifier, _ rows: [[Int32]], length: Int, types: Bool) throws -> [[Float]] {
        var ids: [Int32] = [], tt: [Int32] = [], mask: [Float] = []
        for r in rows {
            ids += r + [Int32](repeating: 0, count: length - r.count)
            tt += (0..<length).map { types && $0 >= r.count / 2 && $0 < r.count ? 1 : 0 }
            mask += (0..<length).map { $0 < r.count ? 1 : 0 }
        }
        var rng = SeededRNG(seed: 0)
        let out = try model.forward(inputIDs: ids, tokenTypeIDs: tt, attentionMask: mask, batch: rows.count, length: length,
                                    training: false, rng: &rng)
        let k = model.options.numLabels
        return rows.indices.map { Array(UnsafeBufferPointer(start: out + $0 * k, count: k)) }
    }

    @Test("evaluation (shared activations) gives the golden logits, and more padding changes nothing",
          arguments: ["deberta-v3-dcft-d8", "deberta-v2-lora-r4"])
    func evaluationAndPadding(name: String) throws {
        let g = try Golden(name)
        let model = try goldenModel(g)
        let shape = g.json["batch"] as! [Int]
        let (B, L) = (shape[0], shape[1])
        let ids = g.ints("input_ids"), mask = g.ints("attention_mask")
        let rows = (0..<B).map { b in Array(ids[(b * L)..<(b * L + L)].enumerated().filter { mask[b * L + $0.offset] > 0 }.map(\.element)) }
        let types = g.string("weights").contains("v2")
        let tight = try Self.logits(model, rows, length: L, types: types)
        expectTensorClose(tight.flatMap { $0 }, g.floats("logits"), rtol: 1e-4, atolScale: 1e-5, "\(name) evaluation logits")
        // 9 more padding positions: relative positions, the convolution and the masks must ignore them.
        let padded = try Self.logits(model, rows, length: L + 9, types: types)
        expectTensorClose(padded.flatMap { $0 }, tight.flatMap { $0 }, rtol: 1e-5, atolScale: 1e-6, "\(name) padded")
        // Each sequence alone (its own length) as in the batch.
        for (b, r) in rows.enumerated() {
            expectTensorClose(try Self.logits(model, [r], length: r.count, types: types)[0], tight[b], rtol: 1e-5, atolScale: 1e-6, "\(name) row \(b) alone")
        }
    }

    @Test("merge: the merged weights give the adapted logits, in dcft and in transformers",
          arguments: ["deberta-v3-dcft-d8", "deberta-v3-lora-r4", "deberta-v2-dcft-d8"])
    func merge(name: String) throws {
        let g = try Golden(name)
        let model = try goldenModel(g)
        let base = ModelFixtures.root.appendingPathComponent(g.string("weights")).path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("deberta-merged-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try model.exportMerged(to: out, baseDirectory: base, labelNames: [])
        let cfg = try EncoderConfig.load(file: out + "/config.json")
        let merged = try SequenceClassifier(config: cfg, options: ModelOptions(adapter: nil, numLabels: g.int("num_labels"),
                                                                                classifierDropout: 0, hiddenDropout: 0, attentionDropout: 0))
        try merged.load(from: try SafeTensorsFile(path: out + "/model.safetensors"), sourceName: out)
        let shape = g.json["batch"] as! [Int]
        var rng = SeededRNG(seed: 0)
        let b = goldenBatch(g)
        let p = try merged.forward(inputIDs: b.inputIDs, tokenTypeIDs: b.tokenTypeIDs, attentionMask: b.attentionMask,
                                   batch: shape[0], length: shape[1], training: false, rng: &rng)
        let mine = Array(UnsafeBufferPointer(start: p, count: shape[0] * g.int("num_labels")))
        expectTensorClose(mine, g.floats("logits"), rtol: 1e-4, atolScale: 1e-5, "\(name) merged (dcft)")

        // transformers loads the directory as DebertaV2ForSequenceClassification and agrees.
        guard let python = PythonReference.interpreter else { return }
        let rows = { (v: [Int32]) in (0..<shape[0]).map { Array(v[($0 * shape[1])..<(($0 + 1) * shape[1])]) } }
        var batch: [String: Any] = ["input_ids": rows(b.inputIDs), "attention_mask": rows(b.attentionMask.map { Int32($0) })]
        if cfg.typeVocabSize > 0 { batch["token_type_ids"] = rows(b.tokenTypeIDs) }
        try JSONSerialization.data(withJSONObject: batch).write(to: URL(fileURLWithPath: out + "/batch.json"))
        let text = try PythonReference.run(python, ["scripts/hf_logits.py", "ids", out, out + "/batch.json"])
        let hf = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [[NSNumber]]).flatMap { $0.map(\.floatValue) }
        expectTensorClose(hf, g.floats("logits"), rtol: 1e-4, atolScale: 1e-5, "\(name) merged (transformers)")
    }

    @Test("a directory with pytorch_model.bin only: the error names the conversion command, and that command works")
    func pytorchBin() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deberta-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixture = ModelFixtures.root.appendingPathComponent("tiny-deberta-v3").path
        try FileManager.default.copyItem(atPath: fixture + "/config.json", toPath: dir + "/config.json")
        guard let python = PythonReference.interpreter else {
            try Data([0x80, 0x02]).write(to: URL(fileURLWithPath: dir + "/pytorch_model.bin"))
            #expect { try ModelDirectory(path: dir) } throws: { "\($0)".contains("python3 scripts/convert_to_safetensors.py \(dir)") }
            return
        }
        // A real pytorch_model.bin of the fixture's weights (torch.save of its state dict).
        _ = try PythonReference.run(python, ["-c", "import torch, sys; from safetensors.torch import load_file; "
            + "torch.save(load_file(sys.argv[1]), sys.argv[2])", fixture + "/model.safetensors", dir + "/pytorch_model.bin"])
        #expect { try ModelDirectory(path: dir) } throws: { "\($0)".contains("python3 scripts/convert_to_safetensors.py \(dir)") }
        _ = try PythonReference.run(python, ["scripts/convert_to_safetensors.py", dir])
        let converted = try SafeTensorsFile(path: dir + "/model.safetensors"), original = try SafeTensorsFile(path: fixture + "/model.safetensors")
        #expect(converted.names.sorted() == original.names.sorted())
        for n in original.names { #expect(try converted.floats(n) == original.floats(n), "\(n)") }
        _ = try ModelDirectory(path: dir)
    }

    @Test("DeBERTa options the encoder does not implement are refused, naming the key")
    func refusals() throws {
        func expectError(_ extra: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let json = Self.v3Base.replacingOccurrences(of: "\"vocab_size\": 128100}", with: "\"vocab_size\": 128100, \(extra)}")
            let path = try Self.writeConfig(json)
            do { _ = try EncoderConfig.load(file: path); Issue.record("accepted \(extra)", sourceLocation: sourceLocation) } catch let e as ConfigError {
                #expect(e.description.contains(fragment) && e.description.contains(path), "\(e)", sourceLocation: sourceLocation)
            }
        }
        try expectError("\"conv_kernel_size\": 4", "conv_kernel_size 4 is even")
        try expectError("\"conv_kernel_size\": 3, \"conv_groups\": 2", "conv_groups 2")
        try expectError("\"conv_kernel_size\": 3, \"conv_act\": \"relu\"", "conv_act \"relu\"")
        try expectError("\"pooler_hidden_act\": \"tanh\"", "pooler_hidden_act \"tanh\"")
        try expectError("\"z_steps\": 2", "z_steps")
        let bad = Self.v3Base.replacingOccurrences(of: "p2c|c2p", with: "p2c|p2p")
        #expect(throws: ConfigError.self) { try EncoderConfig.load(file: Self.writeConfig(bad)) }
        // Full fine-tuning is refused (its embedding, relative-embedding and convolution gradients are not implemented).
        let cfg = try EncoderConfig.load(file: Self.writeConfig(Self.v3Base))
        var options = ModelOptions(adapter: nil, numLabels: 2)
        options.fullFineTuning = true
        #expect { try SequenceClassifier(config: cfg, options: options) } throws: { ($0 as? ConfigError)?.problem.contains("full fine-tuning") ?? false }
    }
}

/// The Python reference (torch + transformers), when installed: tests that compare with it skip
/// that comparison without it unless `DCFT_REQUIRE_E2E=1` (CI), which turns its absence into a failure.
enum PythonReference {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var interpreter: String? {
        let ok = (try? run("python3", ["-c", "import torch, transformers"])) != nil
        if !ok && ProcessInfo.processInfo.environment["DCFT_REQUIRE_E2E"] == "1" {
            Issue.record("DCFT_REQUIRE_E2E=1 but python3 cannot import torch and transformers")
        }
        return ok ? "python3" : nil
    }

    /// Runs `program args` in the package root; returns stdout, throws on a non-zero exit.
    static func run(_ program: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        let out = Pipe()
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("py-\(UUID().uuidString).err").path
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        p.standardOutput = out; p.standardError = FileHandle(forWritingAtPath: errPath)
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()   // stderr goes to a file: no pipe to fill
        p.waitUntilExit()
        let errData = FileManager.default.contents(atPath: errPath) ?? Data()
        guard p.terminationStatus == 0 else {
            throw ConfigError(file: program, problem: "exit \(p.terminationStatus): \(String(decoding: errData, as: UTF8.self).suffix(2000))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
