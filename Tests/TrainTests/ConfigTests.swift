import Testing
import Foundation
@testable import Train
import Model

@Suite("Training configuration")
struct ConfigTests {
    func write(_ text: String) throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString).yaml").path
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func expectError(_ fragment: String, file: String?, overrides: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try TrainConfig.load(file: file, overrides: overrides)
            Issue.record("accepted; expected an error containing \(fragment)", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("defaults, file values and --set overrides resolve in that order; {task} is substituted")
    func layering() throws {
        let f = try write("task: rte\ntrain:\n  lr: 1.2e-3\n  epochs: 50\nadapter:\n  kernel: 2\n")
        let c = try TrainConfig.load(file: f, overrides: ["train.lr=5e-4", "adapter.target_modules=[query, value]"])
        #expect(c.train.lr == 5e-4)
        #expect(c.train.epochs == 50)
        #expect(c.adapter.options["kernel"] == 2)
        #expect(c.train.batchSize == 32)  // default
        #expect(c.adapter.targetModules == ["query", "value"])
        #expect(c.outputDir == "runs/rte" && c.data.dev == ["data/rte/dev"])
        let o = try c.modelOptions(numLabels: 2)
        #expect(o.targetModules == ["query", "value"])
        if let d = o.adapter as? DCFTOptions { #expect(d.kernel == 2 && d.alpha == 32) } else { Issue.record("not DCFT") }
    }

    @Test("unknown keys are refused with the closest valid name")
    func unknownKeys() throws {
        expectError("unknown key \"train.learning_rate\"", file: try write("task: rte\ntrain:\n  learning_rate: 1e-3\n"))
        expectError("did you mean \"train.lr\"", file: try write("task: rte\ntrain:\n  lrr: 1e-3\n"))
        expectError("did you mean \"adapter.kernel\"", file: nil, overrides: ["task=rte", "adapter.kernal=8"])
    }

    @Test("wrong types, bad values and missing keys name the key")
    func badValues() throws {
        expectError("train.batch_size: expected integer", file: try write("task: rte\ntrain:\n  batch_size: many\n"))
        expectError("adapter.type: lora2 is not one of dcft, lora,", file: nil, overrides: ["task=rte", "adapter.type=lora2"])
        expectError("train.batch_size: 0 is out of range (≥ 1)", file: nil, overrides: ["task=rte", "train.batch_size=0"])
        expectError("adapter.lora_dropout: 1 is out of range (0…0.999999)", file: nil, overrides: ["task=rte", "adapter.lora_dropout=1"])
        expectError("adapter (dcft): stride 9 must be at most kernel 8", file: nil, overrides: ["task=rte", "adapter.stride=9"])
        expectError("train.lr: 0 is out of range", file: nil, overrides: ["task=rte", "train.lr=0"])
        expectError("required key \"task\"", file: try write("train:\n  lr: 1e-3\n"))
        expectError("adapter.target_modules: unknown [\"qurey\"]", file: nil, overrides: ["task=rte", "adapter.target_modules=[qurey]"])
        expectError("no such config file", file: "/nonexistent/x.yaml")
        expectError("invalid YAML", file: try write("task: [rte\n"))
        expectError("expected key=value", file: nil, overrides: ["task"])
    }

    @Test("--list-keys is generated from the section types and the registered adapters' fields")
    func listKeys() throws {
        let table = ConfigSchema.markdown
        for f in TrainSection.fields + EvalSection.fields + CheckpointSection.fields + LogSection.fields + HeadSection.fields + DataSection.fields {
            #expect(table.contains("| `\(f.name)` |"), "\(f.name) missing from --list-keys")
        }
        for m in AdapterRegistry.methods { for f in m.fields { #expect(table.contains("| `adapter.\(f.key)` |")) } }
        // Every key decodes into a struct property: the resolved YAML lists each key once.
        let c = try TrainConfig.load(file: nil, overrides: ["task=rte"])
        #expect(c.yaml.split(separator: "\n").count == ConfigSchema.keys.count)
    }

    @Test("every committed GLUE config loads and carries the reference hyperparameters")
    func committedConfigs() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("configs/glue").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 11)
        for f in files { _ = try TrainConfig.load(file: dir + "/" + f) }
        let rte = try TrainConfig.load(file: dir + "/rte.yaml")
        #expect(rte.train.lr == 1.2e-3 && rte.adapter.options["alpha"] == 32 && rte.train.orthGamma == 0.3)
        #expect(rte.train.warmupSteps == 200 && rte.head.classifierDropout == 0.2 && rte.train.epochs == 50)
        let qnli = try TrainConfig.load(file: dir + "/qnli.yaml")
        #expect(qnli.train.batchSize == 16 && qnli.train.lr == 5e-4)
        let mnli = try TrainConfig.load(file: dir + "/mnli.yaml")
        #expect(mnli.data.dev == ["data/mnli/dev_matched", "data/mnli/dev_mismatched"] && mnli.adapter.options["alpha"] == 16)
        let mrpc = try TrainConfig.load(file: dir + "/mrpc.yaml")
        #expect(mrpc.train.warmupRatio == 0.1 && mrpc.train.warmupSteps == 0)
    }

    @Test("configs/deberta-v3 carry the paper's Table 9 recipe: lr, epochs, dropout, γ, batch 32, on DeBERTaV3-base")
    func debertaConfigs() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("configs/deberta-v3").path
        // The paper's Table 9 (docs/DESIGN.md §9): lr, epochs, dropout, γ.
        let table: [String: (Double, Double, Double, Double)] = [
            "cola": (5e-4, 25, 0.5, 0.1), "sst2": (8e-4, 24, 0.1, 0), "mrpc": (1e-3, 30, 0.1, 0), "qqp": (8e-4, 20, 0.1, 0.15),
            "stsb": (2.2e-3, 25, 0.1, 0.2), "mnli": (5e-4, 7, 0.1, 0.15), "qnli": (1.2e-3, 6, 0.1, 0.1), "rte": (1.2e-3, 50, 0.3, 0.2)]
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.count == table.count)
        for (task, (lr, epochs, dropout, gamma)) in table {
            let c = try TrainConfig.load(file: dir + "/\(task).yaml")
            #expect(c.task == task && c.model == "models/deberta-v3-base" && c.train.batchSize == 32, "\(task)")
            #expect(c.train.lr == lr && c.train.epochs == epochs && c.head.classifierDropout == dropout && c.train.orthGamma == gamma,
                    "\(task): lr \(c.train.lr), epochs \(c.train.epochs), dropout \(c.head.classifierDropout), γ \(c.train.orthGamma)")
            #expect(c.adapter.type == "dcft" && c.adapter.options["kernel"] == 8, "\(task)")
        }
    }

    @Test("linear warmup then linear decay, as transformers' get_linear_schedule_with_warmup")
    func schedule() {
        let s = LinearSchedule(peak: 1e-3, total: 100, warmupSteps: 10)
        #expect(s.lr(at: 0) == 0)
        #expect(abs(s.lr(at: 5) - 5e-4) < 1e-15)
        #expect(s.lr(at: 10) == 1e-3)
        #expect(abs(s.lr(at: 55) - 5e-4) < 1e-15)
        #expect(s.lr(at: 100) == 0)
        #expect(LinearSchedule(peak: 1, total: 95, warmupRatio: 0.1).warmup == 10)  // ceil(9.5)
    }

    @Test("clipping by global norm as torch.nn.utils.clip_grad_norm_")
    func clipping() {
        var g: [Float] = [3, 4]
        let n = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0.baseAddress!, count: 2, maxNorm: 1) }
        #expect(n == 5)
        #expect(abs(g[0] - 0.6) < 1e-6 && abs(g[1] - 0.8) < 1e-6)
        var h: [Float] = [0.3, 0.4]
        _ = h.withUnsafeMutableBufferPointer { GradientClipping.clip($0.baseAddress!, count: 2, maxNorm: 1) }
        #expect(h == [0.3, 0.4])
    }
}
