import Testing
import Foundation
import Model
import TestSupport

/// What long runs need from the run loop: wall-time checkpoints that resume bit-identically, and
/// a log that stays small (a record per window of steps, each the window's means).
@Suite("Long runs: time-based checkpoints and windowed log records", .serialized)
struct LongRunTests {
    static let noDropout = ["train.hidden_dropout=0", "train.attention_dropout=0", "head.classifier_dropout=0"]

    @Test("checkpoint.every_minutes writes checkpoints between evaluations; killed after one, --resume auto ends bit-identical (np=2)")
    func timeCheckpoints() throws {
        let t = try TinyRun(trainExamples: 384)
        let common = ["train.max_steps=24", "train.batch_size=16", "eval.every_steps=0", "train.epochs=0"]
        let whole = try t.train(np: 2, common + ["output_dir=\(t.root)/whole"])
        #expect(whole.status == 0, "\(whole.stderr)")
        // A checkpoint at least every 0.3 s: several land between the run's start and step 13.
        let timed = common + ["output_dir=\(t.root)/timed", "checkpoint.every_minutes=0.005", "checkpoint.keep_last=50"]
        let part = try t.train(np: 2, timed, extra: ["--stop-after", "13"], environment: ["DCFT_FAULT": "delay:0:60"])
        #expect(part.status == 0, "\(part.stderr)")
        #expect(part.stdout.contains("checkpoint step"), "\(part.stdout)")
        let saved = try FileManager.default.contentsOfDirectory(atPath: t.root + "/timed").filter { $0.hasPrefix("ckpt-step") }.sorted()
        #expect(!saved.isEmpty && saved.count < 13, "\(saved)")
        let rest = try t.train(np: 2, timed, extra: ["--resume", "auto"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(rest.stdout.contains("resumed from step"), "\(rest.stdout)")
        let a = try SafeTensorsFile(path: t.root + "/whole/adapter.safetensors"), b = try SafeTensorsFile(path: t.root + "/timed/adapter.safetensors")
        #expect(a.names == b.names && !a.names.isEmpty)
        for n in a.names { #expect(try a.floats(n) == b.floats(n), "\(n) differs after a time-checkpoint resume") }
        // The resumed log has every step once: windows end at checkpoints, later records were dropped.
        let losses = try t.losses(t.root + "/timed"), ref = try t.losses(t.root + "/whole")
        #expect(losses.keys.sorted() == Array(1...24) && ref.keys.sorted() == Array(1...24))
    }

    @Test("log.record_every = 4: one record per 4 steps, its loss the mean of the 4 per-step losses")
    func windowedRecords() throws {
        let t = try TinyRun()
        let common = Self.noDropout + ["train.max_steps=12", "train.batch_size=16", "eval.every_steps=0", "train.epochs=0"]
        let each = try t.train(np: 1, common + ["output_dir=\(t.root)/each"])
        let windowed = try t.train(np: 1, common + ["output_dir=\(t.root)/win", "log.record_every=4"])
        #expect(each.status == 0 && windowed.status == 0, "\(each.stderr)\n\(windowed.stderr)")
        var records: [[String: Any]] = []
        for line in try String(contentsOfFile: t.root + "/win/log.jsonl", encoding: .utf8).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if o["loss"] != nil { records.append(o) }
        }
        #expect(records.map { ($0["step"] as! NSNumber).intValue } == [4, 8, 12])
        #expect(records.allSatisfy { ($0["steps"] as! NSNumber).intValue == 4 && $0["step_ms_max"] != nil })
        let per = try t.losses(t.root + "/each")
        for r in records {
            let end = (r["step"] as! NSNumber).intValue
            let mean = (end - 3...end).map { per[$0]! }.reduce(0, +) / 4
            #expect(abs((r["loss"] as! NSNumber).doubleValue - mean) <= 1e-6 * abs(mean), "window ending at \(end)")
        }
    }
}

/// `dcft plan` against what the run it plans actually does.
@Suite("dcft plan", .serialized)
struct PlanTests {
    @Test("steps, evaluations and checkpoint size as the planned run has them; the warm-up leaves nothing behind")
    func planMatchesRun() throws {
        let t = try TinyRun()
        let sets = ["train.epochs=2", "eval.every_steps=5", "checkpoint.every_steps=0", "output_dir=\(t.root)/run"]
        let plan = try ProcessRunner.run(ProcessRunner.product("dcft"), ["plan", "--config", t.config, "--nodes", "1", "--ranks-per-node", "2",
                                                                         "--warmup-steps", "3"] + sets.flatMap { ["--set", $0] },
                                         environment: ["OPENBLAS_NUM_THREADS": "1"], timeout: 120)
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        func field(_ name: String) -> String {
            plan.stdout.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map { String($0.dropFirst(name.count)).trimmingCharacters(in: .whitespaces) } ?? ""
        }
        // 192 examples, global batch 16: 12 steps per epoch, 24 in 2 epochs; evaluations at 5, 10, 12 (epoch end), 15, 20, 24.
        #expect(field("steps").hasPrefix("24 (12 per epoch"), "\(plan.stdout)")
        #expect(field("evaluation").hasPrefix("6 × "), "\(plan.stdout)")
        #expect(field("checkpoints").hasPrefix("6 written"), "\(plan.stdout)")
        #expect(!FileManager.default.fileExists(atPath: t.root + "/run"), "the plan's warm-up wrote into the run directory")
        let run = try t.train(np: 2, sets)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try t.evals(t.root + "/run").keys.sorted() == [5, 10, 12, 15, 20, 24])
        let ckpt = try FileManager.default.contentsOfDirectory(atPath: t.root + "/run").filter { $0.hasPrefix("ckpt-step") }.sorted().last!
        let size = try FileManager.default.attributesOfItem(atPath: t.root + "/run/" + ckpt)[.size] as! Int
        // The warm-up's checkpoint differs from the run's only in the configuration text it records.
        let planned = field("checkpoints").split(separator: "(").dropFirst().first { $0.contains("bytes) each") }
            .flatMap { Int($0.split(separator: " ")[0]) } ?? 0
        #expect(abs(planned - size) <= size / 50, "\(plan.stdout) vs \(size) bytes")
    }
}
