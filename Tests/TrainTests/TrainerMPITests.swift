import Testing
import Foundation
import Model
import TensorCore
import CCPUCheck
import TestSupport
@testable import Train
@testable import dcft

@Suite("Distributed training under mpirun", .serialized)
struct TrainerMPITests {
    @Test("np=1 with batch 2b and np=2 with batch b give the same losses over 20 steps (rel. 1e-5)")
    func npEquivalence() throws {
        let t = try TinyRun()
        let noDropout = ["train.hidden_dropout=0", "train.attention_dropout=0", "head.classifier_dropout=0", "train.max_steps=20"]
        let one = try t.train(np: 1, noDropout + ["train.batch_size=16", "output_dir=\(t.root)/np1"])
        #expect(one.status == 0, "\(one.stdout)\n\(one.stderr)")
        let two = try t.train(np: 2, noDropout + ["train.batch_size=16", "output_dir=\(t.root)/np2"])
        #expect(two.status == 0, "\(two.stdout)\n\(two.stderr)")
        // Same global batch with accumulation on one rank.
        let acc = try t.train(np: 1, noDropout + ["train.batch_size=16", "train.accumulation=2", "output_dir=\(t.root)/acc"])
        #expect(acc.status == 0, "\(acc.stderr)")
        let a = try t.losses(t.root + "/np1"), b = try t.losses(t.root + "/np2"), c = try t.losses(t.root + "/acc")
        #expect(a.count == 20 && b.count == 20 && c.count == 20)
        for s in 1...20 {
            let x = a[s] ?? .nan, y = b[s] ?? .nan, z = c[s] ?? .nan
            #expect(abs(x - y) <= 1e-5 * abs(x), "step \(s): np1 \(x) vs np2 \(y)")
            #expect(abs(x - z) <= 1e-5 * abs(x), "step \(s): np1 \(x) vs accumulation \(z)")
        }
        #expect(a[20]! < a[1]!, "the loss should fall on this learnable task: \(a[1]!) → \(a[20]!)")
        // Only the adapters and head are communicated: bytes per step = 4 × (trainable + 4 slots).
        let log = try String(contentsOfFile: t.root + "/np2/log.jsonl", encoding: .utf8)
        let first = try JSONSerialization.jsonObject(with: Data(log.split(separator: "\n")[0].utf8)) as! [String: Any]
        for key in ["loss", "lr", "grad_norm", "tokens_per_second", "allreduce_bytes", "allreduce_ms", "compute_ms", "update_ms",
                    "transfer_ms", "wait_ms", "wait_max_ms", "compute_min_ms", "compute_median_ms", "compute_max_ms"] {
            #expect(first[key] != nil, "log record lacks \(key)")
        }
        // DCFT on the tiny model: adapters + pooler + classifier, plus 4 slots (loss, tokens, flag, spare).
        let trainable = (first["allreduce_bytes"] as! NSNumber).intValue / 4 - 4
        #expect(trainable > 0 && trainable < 3000, "allreduce carries \(trainable) floats: only adapters and head")
        // dcft plot draws the curves.
        let plot = try ProcessRunner.run(ProcessRunner.product("dcft"), ["plot", t.root + "/np2"])
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOfFile: t.root + "/np2/curves.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.components(separatedBy: "<polyline").count == 3)  // loss + accuracy
    }

    @Test("a run stopped at step 10 and resumed finishes bit-identical to an uninterrupted run (dropout on)")
    func exactResume() throws {
        let t = try TinyRun()
        let common = ["train.max_steps=24", "checkpoint.every_steps=5", "eval.every_steps=8", "checkpoint.keep_last=10"]
        let full = try t.train(np: 2, common + ["output_dir=\(t.root)/full"])
        #expect(full.status == 0, "\(full.stderr)")
        let part = try t.train(np: 2, common + ["output_dir=\(t.root)/split"], extra: ["--stop-after", "10"])
        #expect(part.status == 0, "\(part.stderr)")
        #expect(FileManager.default.fileExists(atPath: t.root + "/split/ckpt-step00000010.h5"))
        let rest = try t.train(np: 2, common + ["output_dir=\(t.root)/split"], extra: ["--resume", "auto"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(rest.stdout.contains("resumed from step 10"))
        let a = try SafeTensorsFile(path: t.root + "/full/adapter.safetensors")
        let b = try SafeTensorsFile(path: t.root + "/split/adapter.safetensors")
        #expect(a.names == b.names && !a.names.isEmpty)
        for n in a.names { #expect(try a.floats(n) == b.floats(n), "\(n) differs after resume") }
        let ca = try Checkpoint.read(t.root + "/full/ckpt-step00000024.h5"), cb = try Checkpoint.read(t.root + "/split/ckpt-step00000024.h5")
        #expect(ca.adamM == cb.adamM && ca.adamV == cb.adamV && ca.rngStates == cb.rngStates && ca.adamStep == 24)
        #expect(try t.losses(t.root + "/full") == t.losses(t.root + "/split"))
        #expect(try t.evals(t.root + "/full") == t.evals(t.root + "/split"))
        // Resuming with another number of ranks is refused.
        let wrong = try t.train(np: 1, common + ["output_dir=\(t.root)/split"], extra: ["--resume", t.root + "/split/ckpt-step00000010.h5"])
        #expect(wrong.status != 0 && wrong.stderr.contains("exact resume needs the same number"), "\(wrong.stderr)")
    }

    @Test("DeBERTa-v3 (tiny): data-parallel DCFT learns, np=1 × 16 equals np=2 × 8, and a resumed run is bit-identical")
    func deberta() throws {
        let t = try TinyRun(fixture: "tiny-deberta-v3")
        let common = ["train.max_steps=16", "checkpoint.every_steps=4", "eval.every_steps=8", "checkpoint.keep_last=10",
                      "train.lr=2e-2"]
        let noDropout = ["train.hidden_dropout=0", "train.attention_dropout=0", "head.classifier_dropout=0"]
        let one = try t.train(np: 1, common + noDropout + ["output_dir=\(t.root)/np1"])
        #expect(one.status == 0, "\(one.stdout)\n\(one.stderr)")
        let two = try t.train(np: 2, common + noDropout + ["output_dir=\(t.root)/np2"])
        #expect(two.status == 0, "\(two.stderr)")
        let a = try t.losses(t.root + "/np1"), b = try t.losses(t.root + "/np2")
        #expect(a.count == 16 && b.count == 16)
        for s in 1...16 { #expect(abs((a[s] ?? .nan) - (b[s] ?? .nan)) <= 1e-5 * abs(a[s] ?? 1), "step \(s): \(a[s] ?? .nan) vs \(b[s] ?? .nan)") }
        #expect(a[16]! < a[1]!, "the loss should fall: \(a[1]!) → \(a[16]!)")
        #expect(one.stdout.contains("adapters 992,"), "DCFT d=8 on h 64, f 128: 2 layers × (4·(8+8+64) + 2·(8+16+64))\n\(one.stdout)")
        // With dropout (hidden, attention, the relative embeddings' pos_dropout): stop at 6, resume, same bytes.
        let full = try t.train(np: 2, common + ["output_dir=\(t.root)/full"])
        #expect(full.status == 0, "\(full.stderr)")
        let part = try t.train(np: 2, common + ["output_dir=\(t.root)/split"], extra: ["--stop-after", "6"])
        #expect(part.status == 0, "\(part.stderr)")
        let rest = try t.train(np: 2, common + ["output_dir=\(t.root)/split"], extra: ["--resume", "auto"])
        #expect(rest.status == 0 && rest.stdout.contains("resumed from step 4"), "\(rest.stdout)\n\(rest.stderr)")
        let x = try SafeTensorsFile(path: t.root + "/full/adapter.safetensors"), y = try SafeTensorsFile(path: t.root + "/split/adapter.safetensors")
        #expect(x.names == y.names && x.names.contains("deberta.encoder.layer.0.attention.self.query_proj.dcft_A"))
        for n in x.names { #expect(try x.floats(n) == y.floats(n), "\(n) differs after resume") }
        #expect(try t.losses(t.root + "/full") == t.losses(t.root + "/split"))
    }

    @Test("resume: extending max_steps or changing cadences continues with a note; another lr is refused naming key, old and new")
    func resumeConfigurationChanges() throws {
        let t = try TinyRun()
        let out = "output_dir=\(t.root)/run"
        let first = try t.train(np: 1, ["train.max_steps=8", "checkpoint.every_steps=4", out])
        #expect(first.status == 0, "\(first.stderr)")
        let lr = try t.train(np: 1, ["train.max_steps=8", "checkpoint.every_steps=4", "train.lr=1e-3", out], extra: ["--resume", "auto"])
        #expect(lr.status != 0 && lr.stderr.contains("train.lr: 0.005 → 0.001") && lr.stderr.contains("ckpt-step00000008.h5"), "\(lr.stderr)")
        let longer = try t.train(np: 1, ["train.max_steps=12", "checkpoint.every_steps=3", out], extra: ["--resume", "auto"])
        #expect(longer.status == 0, "\(longer.stderr)")
        #expect(longer.stdout.contains("resumed from step 8"), "\(longer.stdout)")
        #expect(longer.stdout.contains("note: configuration changed on resume: train.max_steps: 8 → 12"), "\(longer.stdout)")
        #expect(longer.stdout.contains("checkpoint.every_steps: 4 → 3"), "\(longer.stdout)")
        #expect(try t.losses(t.root + "/run").keys.max() == 12)
    }

    @Test("checkpoints never lie: a flipped byte in a tensor is named; --resume auto falls back past corrupt and truncated files")
    func corruptCheckpoints() throws {
        let t = try TinyRun()
        let common = ["train.max_steps=12", "checkpoint.every_steps=4", "checkpoint.keep_last=10", "output_dir=\(t.root)/run"]
        let first = try t.train(np: 1, common + ["train.max_steps=8"])
        #expect(first.status == 0, "\(first.stderr)")
        let newest = t.root + "/run/ckpt-step00000008.h5", older = t.root + "/run/ckpt-step00000004.h5"
        // A flipped byte inside one tensor's data: reading names the tensor.
        let good = try Checkpoint.read(newest)
        let name = try #require(good.params.keys.sorted().first { good.params[$0]!.count >= 16 })
        let pattern = good.params[name]!.withUnsafeBytes { Array($0) }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: newest)))
        let at = try #require((0...(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) })
        bytes[at + pattern.count / 2] ^= 0x5a
        try Data(bytes).write(to: URL(fileURLWithPath: newest))
        #expect { try Checkpoint.read(newest) } throws: { "\($0)".contains("is corrupt") && "\($0)".contains("params/\(name)") }
        // --resume auto: reports the corrupt newest and resumes from step 4 (max_steps 12 may differ).
        let resumed = try t.train(np: 1, common, extra: ["--resume", "auto"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("skipping checkpoint \(newest)") && resumed.stderr.contains("is corrupt"), "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resumed from step 4"), "\(resumed.stdout)")
        // A truncated newest file (a crash mid-copy): skipped too; all unreadable → refused, not restarted.
        let last = t.root + "/run/ckpt-step00000012.h5"
        let whole = try Data(contentsOf: URL(fileURLWithPath: last))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: last))
        for f in [newest, older] { try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: f)) }
        let none = try t.train(np: 1, common, extra: ["--resume", "auto"])
        #expect(none.status != 0 && none.stderr.contains("no checkpoint there reads back intact"), "\(none.stderr)")
    }

    @Test("preemption: SIGTERM to a rank or SIGUSR1 to mpirun → every rank finishes the step, a checkpoint, exit 75; resume is bit-identical")
    func preemption() throws {
        let t = try TinyRun()
        let common = ["train.max_steps=20", "checkpoint.every_steps=100", "eval.every_steps=100", "checkpoint.keep_last=10"]
        let full = try t.train(np: 2, common + ["output_dir=\(t.root)/full"])
        #expect(full.status == 0, "\(full.stderr)")
        // Rank 1 gets SIGTERM during step 7 (before its allreduce): both ranks stop after step 7.
        let term = try t.train(np: 2, common + ["output_dir=\(t.root)/term"], environment: ["DCFT_FAULT": "term:1:6"])
        #expect(term.status == 75, "exit \(term.status)\n\(term.stdout)\n\(term.stderr)")
        #expect(term.stdout.contains("preempted after step 7 of 20: exit 75"), "\(term.stdout)")
        #expect(FileManager.default.fileExists(atPath: t.root + "/term/ckpt-step00000007.h5"))
        #expect(!FileManager.default.fileExists(atPath: t.root + "/term/adapter.safetensors"), "an unfinished run exports no adapter")
        let rest = try t.train(np: 2, common + ["output_dir=\(t.root)/term"], extra: ["--resume", "auto"])
        #expect(rest.status == 0 && rest.stdout.contains("resumed from step 7"), "\(rest.stdout)\n\(rest.stderr)")
        let a = try SafeTensorsFile(path: t.root + "/full/adapter.safetensors"), b = try SafeTensorsFile(path: t.root + "/term/adapter.safetensors")
        for n in a.names { #expect(try a.floats(n) == b.floats(n), "\(n) differs after preemption and resume") }
        #expect(try t.losses(t.root + "/full") == t.losses(t.root + "/term"))

        // SIGUSR1 to mpirun itself (what launch/slurm.sbatch forwards on Slurm's warning), mid-run.
        let dcft = ProcessRunner.product("dcft")
        let script = """
            mpirun -np 2 --oversubscribe -x OPENBLAS_NUM_THREADS=1 -x DCFT_FAULT=delay:0:500 \(dcft) train --config \(t.config) \
              \(common.map { "--set \($0)" }.joined(separator: " ")) --set output_dir=\(t.root)/usr1 & pid=$!
            until [ -s \(t.root)/usr1/log.jsonl ]; do sleep 0.2; done   # training has started
            kill -USR1 $pid; wait $pid
            """
        let usr1 = try ProcessRunner.run("bash", ["-c", script], timeout: 120)
        #expect(usr1.status == 75, "exit \(usr1.status)\n\(usr1.stdout)\n\(usr1.stderr)")
        #expect(usr1.stdout.contains("preempted after step") && usr1.stdout.contains("signal 10 on rank 0"), "\(usr1.stdout)")
        let more = try t.train(np: 2, common + ["output_dir=\(t.root)/usr1"], extra: ["--resume", "auto"])
        #expect(more.status == 0, "\(more.stderr)")
        let c = try SafeTensorsFile(path: t.root + "/usr1/adapter.safetensors")
        for n in a.names { #expect(try a.floats(n) == c.floats(n), "\(n) differs after SIGUSR1 preemption and resume") }
    }

    @Test("hang watchdog: a rank stopped with SIGSTOP (rank 1, then rank 0) ends the job within the bound, the stalled rank named",
          arguments: [1, 0])
    func watchdog(stopped: Int) throws {
        let t = try TinyRun()
        defer { _ = try? ProcessRunner.run("pkill", ["-9", "-f", t.root]) }   // never leave a stopped rank behind
        let start = Date()
        let r = try t.train(np: 2, ["train.max_steps=20", "train.watchdog_seconds=4", "output_dir=\(t.root)/run"],
                            environment: ["DCFT_FAULT": "stop:\(stopped):5"])
        let seconds = Date().timeIntervalSince(start)
        #expect(r.status != 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("hang watchdog: waited") && r.stderr.contains("the gradient allreduce of step 6")
                && r.stderr.contains("rank(s) \(stopped) never reached it"), "\(r.stderr)")
        #expect(seconds < 40, "the job took \(seconds) s to stop")
    }

    @Test("disk full while checkpointing (a small tmpfs): a clear error, no partial file, the earlier checkpoints intact and resumable",
          .enabled(if: getuid() == 0, "needs root to mount a tmpfs"))
    func diskFull() throws {
        let t = try TinyRun()
        let dir = t.root + "/small"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Room for a few checkpoints of the tiny model (≈ 50 KB each) and the log.
        let mount = try ProcessRunner.run("mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", dir])
        try #require(mount.status == 0, "mount: \(mount.stderr)")
        defer { _ = try? ProcessRunner.run("umount", ["-l", dir]) }
        let common = ["train.max_steps=40", "checkpoint.every_steps=4", "checkpoint.keep_last=100", "eval.every_steps=1000",
                      "output_dir=\(dir)/run"]
        let r = try t.train(np: 1, common)
        #expect(r.status != 0, "the run should have stopped on the full disk\n\(r.stdout)")
        #expect(r.stderr.contains("No space left on device") && r.stderr.contains(".h5.tmp-"), "\(r.stderr)")
        #expect(!r.stderr.contains("crashed") && r.status < 128, "a clean stop, not a crash (HDF5's exit cleanup): \(r.status)\n\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/run")
        #expect(!files.contains { $0.contains(".tmp") }, "a partial file was left: \(files)")
        let kept = CheckpointManager(directory: dir + "/run", keepLast: 100).checkpoints()
        #expect(!kept.isEmpty, "\(files)")
        for c in kept { #expect(throws: Never.self, "\(c) must read back intact") { _ = try Checkpoint.read(c) } }
        // With room again (a copy on the real disk), --resume auto continues from the newest good one.
        let copy = t.root + "/copy"
        try FileManager.default.copyItem(atPath: dir + "/run", toPath: copy)
        let more = try t.train(np: 1, common.dropLast() + ["output_dir=\(copy)"], extra: ["--resume", "auto"])
        #expect(more.status == 0, "\(more.stderr)")
        let newest = try #require(kept.last.map { URL(fileURLWithPath: $0).lastPathComponent })
        let step = Int(newest.dropFirst("ckpt-step".count).prefix(8))!
        #expect(more.stdout.contains("resumed from step \(step)"), "\(more.stdout)")
    }

    @Test("a rank killed mid-run makes the job exit non-zero and mpirun names it")
    func killedRank() throws {
        let t = try TinyRun()
        let r = try t.train(np: 2, ["train.max_steps=40", "output_dir=\(t.root)/k"], environment: ["DCFT_FAULT": "kill:1:5"])
        #expect(r.status != 0 && !r.timedOut)
        #expect((r.stdout + r.stderr).contains("rank 1"), "\(r.stdout)\n\(r.stderr)")
    }

    @Test("a NaN loss on one rank stops every rank before the weights change, naming the rank and step")
    func nonFinite() throws {
        let t = try TinyRun()
        let r = try t.train(np: 2, ["train.max_steps=40", "output_dir=\(t.root)/n"], environment: ["DCFT_FAULT": "nan:1:3"])
        #expect(r.status != 0 && !r.timedOut)
        #expect(r.stderr.contains("non-finite loss or gradient at step 3 on rank(s) 1; the weights were not updated"), "\(r.stderr)")
        let e = try t.train(np: 2, ["train.max_steps=40", "output_dir=\(t.root)/e"], environment: ["DCFT_FAULT": "throw:0:2"])
        #expect(e.status != 0 && e.stderr.contains("rank 0 of 2") && e.stderr.contains("injected failure at step 2"), "\(e.stderr)")
    }

    @Test("ranks started with different configurations refuse to train (mpirun MPMD: rank 1 gets another lr)")
    func consistencyCheck() throws {
        let t = try TinyRun()
        let dcft = ProcessRunner.product("dcft")
        let r = try ProcessRunner.run("mpirun", ["-np", "1", "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1", dcft, "train", "--config", t.config, ":",
                                                 "-np", "1", "--oversubscribe", "-x", "OPENBLAS_NUM_THREADS=1", dcft, "train", "--config", t.config,
                                                 "--set", "train.lr=0.1"], timeout: 120)
        #expect(r.status != 0 && !r.timedOut)
        #expect(r.stderr.contains("rank 1 has a different configuration than rank 0"), "\(r.stderr)")
    }

    @Test("bad input stops the job with a clear message: missing dataset, foreign tokenizer, bad config key")
    func badInput() throws {
        let t = try TinyRun()
        let missing = try t.train(np: 2, ["data.train=\(t.root)/nowhere"])
        #expect(missing.status != 0 && missing.stderr.contains("no such dataset directory"), "\(missing.stderr)")
        try "[PAD]\n[UNK]\nother\n".write(toFile: t.model + "/vocab.txt", atomically: true, encoding: .utf8)
        let tok = try t.train(np: 1, [])
        #expect(tok.status != 0 && tok.stderr.contains("re-run `dcft prepare` with this model"), "\(tok.stderr)")
        let key = try t.train(np: 1, ["train.lrate=1"])
        #expect(key.status != 0 && key.stderr.contains("did you mean \"train.lr\""), "\(key.stderr)")
    }
}

@Suite("dcft bench")
struct BenchCommandTests {
    @Test("bench reports step time, throughput, GFLOP/s against sgemm, and allreduce share")
    func bench() throws {
        let t = try TinyRun(trainExamples: 8, devExamples: 4)
        let r = try ProcessRunner.mpirun(np: 2, "dcft", ["bench", "--model", t.model, "--batch", "4", "--seq", "16",
                                                         "--threads", "1", "--steps", "2", "--warmup", "1"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        for fragment in ["ranks 2 × threads 1", "step: median", "tokens/s in all", "sgemm on the same shapes: best of 4 repetitions ≥ 0.5 s",
                         "spread", "compute per rank: min", "allreduce: median", "= transfer", "+ wait"] {
            #expect(r.stdout.contains(fragment), "missing \(fragment) in\n\(r.stdout)")
        }
        #expect(r.stdout.contains("of sgemm peak") != r.stdout.contains("warning: the step's"), "\(r.stdout)")
    }

    /// Forcing the generic SSE kernels (as an old OpenBLAS does on a CPU it does not know) is
    /// reported with the fix, and the sgemm reference measures the kernels really in use.
    @Test("a weak BLAS kernel (OPENBLAS_CORETYPE=Prescott) is reported with the exact fix; the sgemm reference reflects it")
    func weakKernel() throws {
        let miniLM = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models/all-MiniLM-L6-v2").path
        try #require(FileManager.default.fileExists(atPath: miniLM + "/model.safetensors"), "launch/test.sh fetches \(miniLM)")
        let args = ["bench", "--model", miniLM, "--batch", "4", "--seq", "64", "--threads", "1", "--steps", "1", "--warmup", "0",
                    "--reference-reps", "2"]
        func reference(_ out: String) -> Double? {
            out.split(separator: "\n").first { $0.hasPrefix("sgemm on the same shapes") }
                .flatMap { $0.split(separator: ":").dropFirst(2).first }
                .flatMap { Double($0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) }
        }
        let weak = try ProcessRunner.run(ProcessRunner.product("dcft"), args, environment: ["OPENBLAS_CORETYPE": "Prescott"], timeout: 120)
        #expect(weak.status == 0, "\(weak.stderr)")
        #expect(weak.stdout.contains("Prescott kernels (OPENBLAS_CORETYPE=Prescott)"), "\(weak.stdout)")
        let usual = try ProcessRunner.run(ProcessRunner.product("dcft"), args, timeout: 120)
        #expect(usual.status == 0, "\(usual.stderr)")
        let cpu = CPUFeatures.current()
        guard cpu.level >= .avx2, let best = cpu.level.openBLASCoreType else { return }  // an SSE-only CPU has nothing better
        #expect(weak.stdout.contains("because OPENBLAS_CORETYPE=Prescott is set") && weak.stdout.contains("export OPENBLAS_CORETYPE=\(best)"),
                "\(weak.stdout)")
        let w = try #require(reference(weak.stdout), "\(weak.stdout)"), u = try #require(reference(usual.stdout), "\(usual.stdout)")
        #expect(w < 0.7 * u, "sgemm reference with Prescott kernels \(w) GFLOP/s vs \(u) GFLOP/s with the usual ones")
    }

    @Test("after dcft's own restart with better kernels: the note names both, and the new kernels pass the sgemm check")
    func restartedState() throws {
        let t = try TinyRun(trainExamples: 8, devExamples: 4)
        // The state applyAutomaticFix leaves: OPENBLAS_CORETYPE set by dcft, the marker naming the library's choice.
        let r = try ProcessRunner.run(ProcessRunner.product("dcft"),
                                      ["bench", "--model", t.model, "--batch", "2", "--seq", "8", "--threads", "1", "--steps", "1",
                                       "--warmup", "0", "--reference-reps", "1"],
                                      environment: ["OPENBLAS_CORETYPE": "Haswell", BLASKernelCheck.restartMarker: "Prescott"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("note: OpenBLAS had chosen its Prescott kernels for this CPU") &&
                r.stdout.contains("dcft restarted itself with OPENBLAS_CORETYPE=Haswell"), "\(r.stdout)")
        #expect(!r.stdout.contains("(OPENBLAS_CORETYPE=Haswell)"), "dcft's own setting is not reported as the user's")
    }

    @Test("the x86-64-v3 start-up check agrees with /proc/cpuinfo")
    func baselineCheck() {
        #if arch(x86_64) && os(Linux)
        let f = CPUFeatures.current().flags
        #expect((dcft_cpu_has_x86_64_v3() != 0) == (f.contains("avx2") && f.contains("fma") && f.contains("bmi2")))
        #endif
    }

    @Test("step balance: transfer is the shortest stay in the allreduce, wait the rest; compute min/median/max (hand-computed)")
    func balance() {
        // Rank 1 arrived last (stayed 2 ms: the transfer); ranks 0, 2, 3 waited for it.
        let b = TrainingStep.Balance(compute: [0.100, 0.108, 0.104, 0.101], allreduce: [0.010, 0.002, 0.006, 0.009])
        #expect(b.ranks == 4 && b.computeMin == 0.100 && b.computeMax == 0.108 && abs(b.computeMedian - 0.1025) < 1e-12)
        #expect(b.transfer == 0.002 && abs(b.waitRank0 - 0.008) < 1e-12 && abs(b.waitMax - 0.008) < 1e-12)
        let one = TrainingStep.Balance(compute: [0.5], allreduce: [0.001])
        #expect(one.transfer == 0.001 && one.waitRank0 == 0 && one.computeMedian == 0.5)
    }

    @Test("the sgemm reference: repetitions of at least minSeconds, best as reference; a ratio above 100% becomes a warning")
    func sgemmReference() {
        let c = EncoderConfig(architecture: .bert, vocabSize: 10, hiddenSize: 64, numLayers: 1, numHeads: 4, intermediateSize: 256)
        var ref = SgemmReference(c, rows: 64)
        ref.minSeconds = 0.05
        let t0 = Date()
        for _ in 0..<3 { ref.measure() }
        #expect(Date().timeIntervalSince(t0) >= 0.15, "each repetition runs for at least minSeconds")
        #expect(ref.rates.count == 3 && ref.rates.allSatisfy { $0 > 0 && $0.isFinite })
        #expect(ref.best == ref.rates.max())
        let half = ref.summary(achieved: ref.best / 2)
        #expect(half.contains("best of 3 repetitions") && half.hasSuffix("→ 50% of sgemm peak"), "\(half)")
        let impossible = ref.summary(achieved: ref.best * 1.42)
        #expect(impossible.contains("warning: the step's") && !impossible.contains("of sgemm peak"), "\(impossible)")
    }

    @Test("the FLOP model counts the matmuls a step performs (MiniLM shapes, hand-computed)")
    func flopModel() {
        let c = EncoderConfig(architecture: .bert, vocabSize: 10, hiddenSize: 384, numLayers: 6, numHeads: 12, intermediateSize: 1536)
        func flops(full: Bool = false, headOnly: Bool = false, first: Bool) -> Double {
            Bench.stepFLOPs(c, batch: 32, seq: 128, full: full, headOnly: headOnly, firstTokenLastLayer: first)
        }
        // Full last layer. Forward per layer: linears 2·4096·(4·384² + 2·384·1536) = 14,495,514,624,
        // attention 4·32·128²·384 = 805,306,368; six layers 91,804,925,952 (head only). A frozen
        // step adds per layer the dx gemms (14,495,514,624) and twice the attention, less layer 0's
        // q/k/v input gradient 2·4096·3·384² = 3,623,878,656: 184,817,811,456. Full fine-tuning adds
        // every layer's dW (= its forward linears) and layer 0's input gradient (needed by the
        // trainable embeddings): 275,414,777,856.
        #expect(flops(headOnly: true, first: false) == 91_804_925_952)
        #expect(flops(first: false) == 184_817_811_456)
        #expect(flops(full: true, first: false) == 275_414_777_856)
        // First-token last layer: its k, v stay over 4096 rows (2·4096·2·384² = 2,415,919,104 forward),
        // q, o and the FFN run over 32 rows (2·32·(2·384² + 2·384·1536) = 94,371,840), attention over
        // one query row (4·32·128·384 = 6,291,456): the forward drops 12,784,238,592 to 79,020,687,360.
        #expect(flops(headOnly: true, first: true) == 79_020_687_360)
        #expect(flops(first: true) == 158_450_319_360)
        #expect(flops(full: true, first: true) == 237_062_062_080)
    }
}
