import Testing
import Foundation
import TestSupport

/// The launchers' layout rule (launch/layout.sh) and launch/local.sh choosing it for real.
@Suite("Launchers: ranks × threads", .serialized)
struct LaunchTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func layout(_ args: [String], environment: [String: String] = [:]) throws -> String {
        let r = try ProcessRunner.run("bash", [Self.root + "/launch/layout.sh"] + args, environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("the rule: one rank per core for PEFT, one per 4 cores for full fine-tuning; RANKS/THREADS override")
    func rule() throws {
        #expect(try layout(["16"]) == "16 1" && layout(["16", "full"]) == "4 4")
        #expect(try layout(["2"]) == "2 1" && layout(["2", "full"]) == "1 2" && layout(["1", "full"]) == "1 1")
        #expect(try layout(["64", "full"]) == "16 4")
        #expect(try layout(["16"], environment: ["RANKS": "4"]) == "4 4")
        #expect(try layout(["16"], environment: ["THREADS": "2", "RANKS": "8"]) == "8 2")
    }

    @Test("launch/local.sh without NP trains with the rule's layout for this machine, bound to cores")
    func localAuto() throws {
        let t = try TinyRun(trainExamples: 32, devExamples: 8)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let r = try ProcessRunner.run("bash", [Self.root + "/launch/local.sh", t.config, "--set", "train.max_steps=2",
                                               "--set", "train.batch_size=\(2 * cores)", "--set", "output_dir=\(t.root)/auto"],
                                      environment: ["DCFT": ProcessRunner.product("dcft")], timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("launch/local.sh: \(cores) rank(s) × 1 thread(s) on \(cores) cores (--bind-to core"), "\(r.stderr)")
        #expect(r.stdout.contains("dcft train: task rte, \(cores) rank(s) × 1 thread(s)"), "\(r.stdout)")
        // Full fine-tuning from a --set: one rank per 4 cores (at least one).
        let full = try ProcessRunner.run("bash", [Self.root + "/launch/local.sh", t.config, "--set", "adapter.type=none",
                                                  "--set", "adapter.full_fine_tuning=true", "--set", "train.max_steps=1",
                                                  "--set", "output_dir=\(t.root)/full"],
                                         environment: ["DCFT": ProcessRunner.product("dcft")], timeout: 300)
        #expect(full.status == 0, "\(full.stderr)")
        let ranks = max(1, cores / 4)
        #expect(full.stderr.contains("launch/local.sh: \(ranks) rank(s) × \(cores / ranks) thread(s)"), "\(full.stderr)")
    }

    @Test("launch/hostfile.sh without NP: the rule per node from the hostfile's slots (one node here: localhost)")
    func hostfileAuto() throws {
        let t = try TinyRun(trainExamples: 32, devExamples: 8)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        try "# one node\nlocalhost slots=\(cores)\n".write(toFile: t.root + "/hosts", atomically: true, encoding: .utf8)
        let r = try ProcessRunner.run("bash", [Self.root + "/launch/hostfile.sh", t.root + "/hosts", t.config,
                                               "--set", "train.max_steps=2", "--set", "train.batch_size=\(2 * cores)",
                                               "--set", "output_dir=\(t.root)/hf"],
                                      environment: ["DCFT": ProcessRunner.product("dcft")], timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("launch/hostfile.sh: \(cores) rank(s) × 1 thread(s)"), "\(r.stderr)")
        #expect(r.stdout.contains("dcft train: task rte, \(cores) rank(s) × 1 thread(s)"), "\(r.stdout)")
    }
}
