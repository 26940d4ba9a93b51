import Foundation
import DataPipeline
import TestSupport

/// A complete tiny training setup on disk for the trainer tests: the tiny random BERT of the
/// model goldens (hidden 40, 2 layers; or another of their 99-token models, `fixture`) with a
/// 99-token vocab.txt, and train/dev datasets of random token sequences whose label is a
/// learnable function of the tokens.
struct TinyRun {
    let root: String
    var model: String { root + "/model" }
    var config: String { root + "/config.yaml" }

    static let fixtureRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ModelTests/Fixtures").path
    static let fixtures = fixtureRoot + "/tiny-bert"

    init(trainExamples: Int = 192, devExamples: Int = 40, fixture: String = "tiny-bert") throws {
        let source = Self.fixtureRoot + "/" + fixture
        root = try ProcessRunner.temporaryDirectory("dcft-train")
        let fm = FileManager.default
        try fm.createDirectory(atPath: model, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors"] { try fm.copyItem(atPath: source + "/" + f, toPath: model + "/" + f) }
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (5..<99).map { "w\($0)" }
        try (vocab.joined(separator: "\n") + "\n").write(toFile: model + "/vocab.txt", atomically: true, encoding: .utf8)
        let sha = try SHA256.hex(file: model + "/vocab.txt")
        for (split, n, seed) in [("train", trainExamples, UInt64(1)), ("dev", devExamples, UInt64(2))] {
            var state = seed &* 0x9E37_79B9_7F4A_7C15
            func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
            var rows: [TokenizedDatasetWriter.Row] = []
            for _ in 0..<n {
                let len = 4 + next() % 14
                let ids = [Int32(2)] + (0..<len - 2).map { _ in Int32(5 + next() % 94) } + [Int32(3)]
                let label: Float = ids[1] < 52 ? 0 : 1
                rows.append(.init(inputIDs: ids, tokenTypeIDs: [Int32](repeating: 0, count: ids.count), label: label))
            }
            let meta = DatasetMetadata(task: "rte", split: split, tokenizerName: "wordPiece:vocab.txt", tokenizerSHA256: sha,
                                       maxLength: 32, numLabels: 2, labelNames: ["entailment", "not_entailment"],
                                       isRegression: false, hasLabels: true, numExamples: n, sourceSHA256: "synthetic", padTokenID: 0)
            try TokenizedDatasetWriter.write(rows, metadata: meta, to: root + "/data/" + split, shards: 2)
        }
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
              alpha: 32
            train:
              epochs: 10
              batch_size: 16
              lr: 5.0e-3
              warmup_steps: 3
              orth_gamma: 0.1
              seed: 6
            eval:
              batch_size: 8
            log:
              every_steps: 5
              record_every: 1
            """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// `mpirun -np np dcft train --config … --set …`.
    func train(np: Int, _ sets: [String], extra: [String] = [], environment: [String: String] = [:]) throws -> ProcessRunner.Output {
        try ProcessRunner.mpirun(np: np, "dcft", ["train", "--config", config] + sets.flatMap { ["--set", $0] } + extra,
                                 environment: environment, timeout: 300)
    }

    /// Per-step losses from a run's log.jsonl.
    func losses(_ runDir: String) throws -> [Int: Double] {
        var out: [Int: Double] = [:]
        for line in try String(contentsOfFile: runDir + "/log.jsonl", encoding: .utf8).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if let l = (o["loss"] as? NSNumber)?.doubleValue { out[(o["step"] as! NSNumber).intValue] = l }
        }
        return out
    }

    /// Evaluation records (step → metric values) from a run's log.jsonl.
    func evals(_ runDir: String) throws -> [Int: [String: Double]] {
        var out: [Int: [String: Double]] = [:]
        for line in try String(contentsOfFile: runDir + "/log.jsonl", encoding: .utf8).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if let e = o["eval"] as? [String: NSNumber] { out[(o["step"] as! NSNumber).intValue] = e.mapValues(\.doubleValue) }
        }
        return out
    }
}
