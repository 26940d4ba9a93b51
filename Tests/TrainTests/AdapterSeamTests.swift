import Testing
import Foundation
import Model
import TensorCore
import TestSupport
@testable import Train

/// The adapter seam, proven by a test-only adapter (`TestSupport/ScalarGate.swift`): one file
/// plus `AdapterRegistry.register`, and dcft's real trainer, checkpoints, resume, adapter file
/// and merge handle it without any change.
@Suite("Adapter seam: a test-only adapter through the real code paths", .serialized)
struct AdapterSeamTests {
    @Test("a toy adapter registered in one line trains, checkpoints, resumes bit-exactly, exports and merges")
    func toyAdapter() throws {
        AdapterRegistry.register(ScalarGateOptions.self)
        let t = try TinyRun()
        let common = ["adapter.type=gate", "adapter.gate_init=0.05", "train.max_steps=12", "checkpoint.every_steps=4",
                      "eval.every_steps=6", "checkpoint.keep_last=10"]
        func train(_ dir: String, _ extra: [String] = []) throws -> ProcessRunner.Output {
            try ProcessRunner.mpirun(np: 2, "toy-adapter-train",
                                     ["--config", t.config] + (common + ["output_dir=\(t.root)/\(dir)"]).flatMap { ["--set", $0] } + extra,
                                     timeout: 300)
        }
        let full = try train("full")
        #expect(full.status == 0, "\(full.stdout)\n\(full.stderr)")
        #expect(full.stdout.contains("trainable:") && full.stdout.contains("adapters 12,"), "12 gates (2 layers × 6 modules)\n\(full.stdout)")
        let part = try train("split", ["--stop-after", "5"])
        #expect(part.status == 0, "\(part.stderr)")
        let rest = try train("split", ["--resume", "auto"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(rest.stdout.contains("resumed from step 4"), "\(rest.stdout)")
        #expect(try t.losses(t.root + "/full") == t.losses(t.root + "/split"))

        // The adapter file names the method and holds the trained gates, identical after resume.
        let (header, tensors) = try AdapterFile.read(t.root + "/full/adapter.safetensors")
        let other = try SafeTensorsFile(path: t.root + "/split/adapter.safetensors")
        #expect(header.options.adapter?.name == "gate" && abs((header.options.adapter?.settings["gate_init"] ?? 0) - 0.05) < 1e-7)
        let gates = tensors.names.filter { $0.hasSuffix(".gate_g") }
        #expect(gates.count == 12)
        for n in tensors.names { #expect(try tensors.floats(n) == other.floats(n), "\(n) differs after resume") }
        #expect(try gates.contains { try tensors.floats($0)[0] != 0.05 }, "the gates did not train")
        // The checkpoint carries them too.
        let ckpt = try Checkpoint.read(t.root + "/full/ckpt-step00000012.h5")
        #expect(ckpt.step == 12)

        // Merge: the model with the adapter and the merged weights without it give the same logits.
        let md = try ModelDirectory(path: t.model)
        let net = try SequenceClassifier.pretrained(md, options: header.options)
        try AdapterFile.apply(tensors, to: net, file: "adapter")
        try net.exportMerged(to: t.root + "/merged", baseDirectory: t.model, labelNames: header.labelNames)
        let merged = try SequenceClassifier(config: md.config, options: ModelOptions(adapter: nil, numLabels: 2))
        try merged.load(from: try SafeTensorsFile(path: t.root + "/merged/model.safetensors"), sourceName: "merged")
        let ids: [Int32] = [2, 17, 40, 63, 9, 3, 2, 88, 12, 3, 0, 0], mask: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        var rng = SeededRNG(seed: 0)
        let a = Array(UnsafeBufferPointer(start: try net.forward(inputIDs: ids, tokenTypeIDs: [Int32](repeating: 0, count: 12),
                                                                   attentionMask: mask, batch: 2, length: 6, training: false, rng: &rng), count: 4))
        let b = Array(UnsafeBufferPointer(start: try merged.forward(inputIDs: ids, tokenTypeIDs: [Int32](repeating: 0, count: 12),
                                                                      attentionMask: mask, batch: 2, length: 6, training: false, rng: &rng), count: 4))
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-5 * max(1, abs(x)), "adapter \(a) vs merged \(b)") }
    }

    @Test("the toy adapter's backward matches finite differences (the seam's contract)")
    func toyGradient() throws {
        let store = ParameterStore()
        let lin = AdaptedLinear(store: store, name: "l", inFeatures: 5, outFeatures: 7, trainable: false)
        lin.attach(try ScalarGateOptions(settings: ["gate_init": 0.3]), store: store)
        store.allocate()
        var rng = SeededRNG(seed: 3)
        store.set("l.weight", (0..<35).map { _ in Float(rng.nextNormal()) * 0.3 }); store.set("l.bias", [Float](repeating: 0.1, count: 7))
        store.set("l.gate_g", [0.3])
        let x = (0..<20).map { _ in Float(rng.nextNormal()) }, dy = (0..<28).map { _ in Float(rng.nextNormal()) }
        func loss(_ g: Float) -> Double {
            store.set("l.gate_g", [g])
            var y = [Float](repeating: 0, count: 28), r = SeededRNG(seed: 0)
            lin.forward(store: store, x: x, y: &y, rows: 4, training: true, rng: &r)
            return zip(y, dy).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        let numeric = (loss(0.3 + 1e-2) - loss(0.3 - 1e-2)) / 2e-2
        _ = loss(0.3)
        store.gradients.zero()
        var dx = [Float](repeating: 0, count: 20)
        lin.backward(store: store, x: x, dy: dy, dx: &dx, rows: 4, training: true)
        #expect(abs(Double(store.getGradient("l.gate_g")![0]) - numeric) <= 1e-3 * max(1, abs(numeric)))
    }
}
