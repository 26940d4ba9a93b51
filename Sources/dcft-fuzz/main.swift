import Foundation
import DataPipeline
import HDF5Kit
import Model
import TensorCore
import Train

/// A seeded mutation fuzzer for every reader of untrusted input (a stand-in for libFuzzer, whose
/// `-sanitize=fuzzer` runtime the toolchain does not ship here): each target starts from valid
/// seed files, applies 1–4 random mutations per run (bit flips, interesting bytes, inserted,
/// deleted, duplicated or truncated ranges, splices of text tokens), and feeds the result to the
/// reader. A run passes when the reader either throws one of dcft's errors or accepts the input
/// and the accepted object is valid (every tensor, example and encoding readable and in range).
/// Before each run the input is written to `CRASH_DIR/current-TARGET`; a crash leaves it there,
/// and `bench/fuzz.sh` keeps it as a regression input. Exit 0 when every run passed.
///
///   dcft-fuzz TARGET [RUNS] [SEED] [CRASH_DIR]
///   targets: safetensors, dataset, checkpoint, tokenizer-json, vocab, merges, spm, yaml, tsv, jsonl
struct Fuzz {
    let target: String, runs: Int, seed: UInt64, crashDir: String
    let work: String

    /// A target: seed inputs, and how to feed one input to the reader (throws: rejected; returns:
    /// accepted, after validating the object; a problem with an accepted object is a failure).
    struct Target {
        var seeds: [Data]
        var run: (Data) throws -> String?   // nil: accepted and valid; text: accepted but invalid
    }

    static let mutationTokens: [[UInt8]] = ["\"", "\\", "\n", "\t", "{", "}", "[", "]", ":", ",", "-", "0", "1e309", "-1",
                                            "9999999999999999999", "\u{0}", "é", "🙂", "\u{FFFD}", "null", "true", "  "]
        .map { Array($0.utf8) }

    func mutate(_ input: Data, rng: inout SeededRNG) -> Data {
        var b = [UInt8](input)
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let n = b.count, pos = n == 0 ? 0 : Int(rng.next() % UInt64(n))
            switch rng.next() % 8 {
            case 0 where n > 0: b[pos] ^= UInt8(1 << (rng.next() % 8))
            case 1 where n > 0: b[pos] = [0, 0xff, 0x7f, 0x80, 0x01, 0xfe][Int(rng.next() % 6)]
            case 2: b.insert(contentsOf: (0..<(1 + Int(rng.next() % 16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: pos)
            case 3 where n > 0: b.removeSubrange(pos..<min(n, pos + 1 + Int(rng.next() % 64)))
            case 4 where n > 0: b.insert(contentsOf: b[pos..<min(n, pos + 1 + Int(rng.next() % 64))], at: Int(rng.next() % UInt64(n)))
            case 5 where n > 0: b.removeSubrange(pos..<n)   // truncate
            case 6: b.insert(contentsOf: Self.mutationTokens[Int(rng.next() % UInt64(Self.mutationTokens.count))], at: pos)
            default:   // overwrite 4–8 bytes with a large or negative little-endian integer (header sizes, offsets)
                guard n >= 8 else { continue }
                let at = min(pos, n - 8)
                let v: UInt64 = [UInt64.max, 1 << 40, UInt64(Int64.max), 0xffff_ffff, 1 << 31][Int(rng.next() % 5)]
                for k in 0..<8 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            }
        }
        return Data(b)
    }

    func write(_ data: Data, _ path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }

    func makeTarget() throws -> Target {
        let fm = FileManager.default
        switch target {
        case "safetensors":
            let path = work + "/seed.safetensors"
            try SafeTensorsWriter.write(tensors: [("a.weight", [3, 4], (0..<12).map(Float.init)), ("b", [2], [1, 2])],
                                        metadata: ["format": "pt"], to: path)
            return Target(seeds: [try Data(contentsOf: URL(fileURLWithPath: path))]) { data in
                let f = try SafeTensorsFile(bytes: data, label: "fuzz.safetensors")
                for n in f.names {
                    let v = try f.floats(n)
                    guard let shape = f.tensorShape(n), v.count == shape.reduce(1, *) else { return "\(n): \(v.count) values for \(f.tensorShape(n) ?? [])" }
                }
                return nil
            }
        case "dataset":
            let dir = work + "/seed-dataset"
            let meta = DatasetMetadata(task: "rte", split: "train", tokenizerName: "wordPiece:vocab.txt", tokenizerSHA256: "0",
                                       maxLength: 16, numLabels: 2, labelNames: ["a", "b"], isRegression: false, hasLabels: true,
                                       numExamples: 5, sourceSHA256: "0", padTokenID: 0)
            let rows = (0..<5).map { i in TokenizedDatasetWriter.Row(inputIDs: (0..<(3 + i)).map { Int32($0 + 2) },
                                                                     tokenTypeIDs: [Int32](repeating: 0, count: 3 + i), label: Float(i % 2)) }
            try TokenizedDatasetWriter.write(rows, metadata: meta, to: dir, shards: 1)
            let shard = try fm.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".h5") }!
            let target = work + "/dataset"
            try? fm.removeItem(atPath: target)
            try fm.copyItem(atPath: dir, toPath: target)
            return Target(seeds: [try Data(contentsOf: URL(fileURLWithPath: dir + "/" + shard))]) { data in
                try self.write(data, target + "/" + shard)
                let d = try TokenizedDataset(directory: target)
                for i in 0..<d.count {
                    let e = try d.example(i)
                    guard e.inputIDs.count == e.tokenTypeIDs.count, e.inputIDs.count == d.lengths[i] else { return "example \(i) inconsistent" }
                }
                if d.count > 0 { _ = try d.batch(Array(0..<d.count)) }
                return nil
            }
        case "checkpoint":
            // A real checkpoint of a tiny training (written by the trainer's own code through
            // dcft train would need MPI; the HDF5 layout is rebuilt here with the same writer).
            let path = work + "/seed-ckpt.h5"
            let f = try HDF5File.create(path)
            for g in ["params", "adam_m", "adam_v"] {
                let grp = try f.root.createGroup(g)
                try grp.write("head.weight", (0..<6).map(Float.init), shape: [2, 3])
            }
            try f.root.write("rng_states", [UInt64](repeating: 7, count: 8), shape: [2, 4])
            for (k, v) in [("format", HDF5Attribute.string(Checkpoint.format)), ("format_version", .int(1)), ("step", .int(4)),
                           ("epoch", .int(0)), ("position", .int(4)), ("adam_step", .int(4)), ("world_size", .int(2)),
                           ("base_model_sha256", .string("0")), ("config", .string("task: rte")), ("best_metric", .double(0.5)),
                           ("best_step", .int(4)), ("metric_name", .string("accuracy"))] {
                try f.root.setAttribute(k, v)
            }
            try f.close()
            let target = work + "/ckpt.h5"
            return Target(seeds: [try Data(contentsOf: URL(fileURLWithPath: path))]) { data in
                try self.write(data, target)
                let c = try Checkpoint.read(target)
                guard c.rngStates.count == c.worldSize, c.params.keys.sorted() == c.adamM.keys.sorted() else { return "inconsistent checkpoint" }
                return nil
            }
        case "tokenizer-json", "vocab", "merges", "spm":
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let fixtures = root.appendingPathComponent("Tests/DataPipelineTests/Fixtures").path
            let (source, files, file): (String, [String], String) = switch target {
            case "tokenizer-json": ("minilm", ["tokenizer.json", "tokenizer_config.json"], "tokenizer.json")
            case "vocab": ("minilm", ["vocab.txt", "tokenizer_config.json"], "vocab.txt")
            case "merges": ("roberta-bpe", ["vocab.json", "merges.txt"], "merges.txt")
            default: ("deberta-unigram", ["spm.model", "tokenizer_config.json"], "spm.model")
            }
            let dir = work + "/tok"
            try? fm.removeItem(atPath: dir)
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for f in files { try fm.copyItem(atPath: fixtures + "/" + source + "/" + f, toPath: dir + "/" + f) }
            let seed = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))
            return Target(seeds: [seed]) { data in
                try self.write(data, dir + "/" + file)
                let t = try Tokenizer.load(directory: URL(fileURLWithPath: dir))
                for text in ["Hello, world!", "Ünïcödé 東京 🙂", "", "a" + String(repeating: "b", count: 300)] {
                    let e = t.encode(text, "second part", maxLength: 64)
                    guard e.inputIDs.count <= 64, e.inputIDs.allSatisfy({ $0 >= 0 && Int($0) < t.vocabSize }) else {
                        return "ids out of range for \(text.prefix(20)): \(e.inputIDs.prefix(8))"
                    }
                }
                return nil
            }
        case "yaml":
            let seed = Data("""
                task: rte
                model: models/all-MiniLM-L6-v2
                data:
                  train: data/rte/train
                  dev: [data/rte/dev]
                adapter:
                  type: dcft
                  kernel: 8
                train:
                  epochs: 3
                  lr: 1.0e-3
                  batch_size: 32
                eval:
                  every_steps: 100
                """.utf8)
            let path = work + "/config.yaml"
            return Target(seeds: [seed]) { data in
                try self.write(data, path)
                let c = try TrainConfig.load(file: path)
                guard c.train.batchSize >= 1, c.train.lr > 0, c.train.epochs >= 0 else { return "out-of-range value accepted" }
                return nil
            }
        case "tsv", "jsonl":
            let path = work + "/input." + target
            let seed = target == "tsv"
                ? Data("index\tsentence1\tsentence2\tlabel\n0\tA man eats.\tSomeone eats.\tentailment\n1\tIt rains.\tIt is dry.\tnot_entailment\n".utf8)
                : Data("{\"text\": \"A man eats.\", \"text_pair\": \"Someone eats.\", \"label\": \"yes\"}\n{\"text\": \"x\", \"text_pair\": \"y\", \"label\": \"no\"}\n".utf8)
            return Target(seeds: [seed]) { data in
                try self.write(data, path)
                let r = self.target == "tsv"
                    ? try GLUEReader.read(task: .rte, file: path, skipBad: self.runsSkipBad(data))
                    : try JSONLReader(textField: "text", pairField: "text_pair", labelField: "label", labelNames: ["no", "yes"])
                        .read(file: path, skipBad: self.runsSkipBad(data))
                for e in r.examples where e.textA.isEmpty || e.textB?.isEmpty == true { return "empty text accepted at line \(e.line)" }
                return nil
            }
        default:
            throw ValidationFailure("unknown target \(target)")
        }
    }

    /// Half the inputs also go through `--skip-bad` (decided by the input, so a crash reproduces).
    func runsSkipBad(_ data: Data) -> Bool { data.count % 2 == 0 }

    struct ValidationFailure: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    /// Feeds one saved input (a crash or hang reproducer) to the target.
    func replay(_ file: String) throws -> Int32 {
        let t = try makeTarget()
        do {
            if let problem = try t.run(try Data(contentsOf: URL(fileURLWithPath: file))) { print("accepted but invalid: \(problem)"); return 1 }
            print("accepted and valid")
        } catch { print("rejected: \(error)") }
        return 0
    }

    func run() throws -> Int32 {
        try FileManager.default.createDirectory(atPath: crashDir, withIntermediateDirectories: true)
        let t = try makeTarget()
        var rng = SeededRNG(seed: seed)
        var accepted = 0, rejected = 0
        let current = crashDir + "/current-" + target
        let start = Date()
        for i in 0..<runs {
            var input = t.seeds[Int(rng.next() % UInt64(t.seeds.count))]
            input = mutate(input, rng: &rng)
            try input.write(to: URL(fileURLWithPath: current))
            do {
                if let problem = try t.run(input) {
                    let keep = crashDir + "/invalid-\(target)-\(i)"
                    try input.write(to: URL(fileURLWithPath: keep))
                    print("dcft-fuzz \(target): run \(i) accepted an invalid input (\(problem)); kept as \(keep)")
                    return 1
                }
                accepted += 1
            } catch {
                rejected += 1
            }
        }
        try? FileManager.default.removeItem(atPath: current)
        print(String(format: "dcft-fuzz %@: %d runs (seed %llu) in %.1f s: %d rejected with an error, %d accepted and valid, 0 crashes",
                     target, runs, seed, Date().timeIntervalSince(start), rejected, accepted))
        return 0
    }
}

let args = CommandLine.arguments
guard args.count >= 2 else {
    print("usage: dcft-fuzz TARGET [RUNS] [SEED] [CRASH_DIR] | dcft-fuzz TARGET --replay FILE   (targets: safetensors dataset checkpoint tokenizer-json vocab merges spm yaml tsv jsonl)")
    exit(2)
}
let work = FileManager.default.temporaryDirectory.appendingPathComponent("dcft-fuzz-\(getpid())").path
try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }
let fuzz = Fuzz(target: args[1], runs: args.count > 2 ? Int(args[2]) ?? 10_000 : 10_000,
                seed: args.count > 3 ? UInt64(args[3]) ?? 1 : 1, crashDir: args.count > 4 ? args[4] : work + "/crashes", work: work)
do { exit(args.count > 3 && args[2] == "--replay" ? try fuzz.replay(args[3]) : try fuzz.run()) } catch {
    print("dcft-fuzz \(args[1]): \(error)")
    exit(2)
}
