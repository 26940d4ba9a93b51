import Testing
import Foundation
import Model
import TestSupport

/// Multi-node for real on one machine: launch/cluster.sh's network namespaces joined by a
/// bridge, Open MPI's TCP transport only (no shared memory between "nodes"), ranks started in
/// the other namespaces by launch/netns-agent.sh in place of ssh, through launch/hostfile.sh.
/// Needs root and `ip netns`; without them the tests skip, except under CI=true.
/// The suites that bring up launch/cluster.sh's namespaces, one test at a time: they share the
/// node names, addresses and bridge.
@Suite("Network namespaces", .serialized) enum NamespaceSuites {}

extension NamespaceSuites {
@Suite("Across network namespaces (launch/cluster.sh)", .serialized, .enabled(if: Cluster.available, "needs root and a working `ip netns add` (skipped here; under CI=true it must run)"))
struct ClusterTests {
    @Test("2 nodes over TCP: the same adapter bytes as 2 ranks on one host, and np=1's losses (batch 2b)")
    func twoNodes() throws {
        let t = try TinyRun()
        let cluster = try Cluster(nodes: 2, rate: "1gbit")
        defer { cluster.down() }
        let common = ["train.hidden_dropout=0", "train.attention_dropout=0", "head.classifier_dropout=0", "train.max_steps=16",
                      "train.batch_size=16"]
        let net = try cluster.hostfileRun(t.config, common + ["output_dir=\(t.root)/net"])
        #expect(net.status == 0, "\(net.stdout)\n\(net.stderr)")
        #expect(net.stderr.contains("launch/hostfile.sh: 2 rank(s) × 1 thread(s)"), "\(net.stderr)")
        #expect(net.stdout.contains("dcft train: task rte, 2 rank(s)"), "\(net.stdout)")
        let local = try t.train(np: 2, common + ["output_dir=\(t.root)/local"])
        #expect(local.status == 0, "\(local.stderr)")
        let one = try t.train(np: 1, common + ["output_dir=\(t.root)/one"])
        #expect(one.status == 0, "\(one.stderr)")
        // Two ranks sum two partial gradients: the same floats whatever carries them.
        let a = try SafeTensorsFile(path: t.root + "/net/adapter.safetensors"), b = try SafeTensorsFile(path: t.root + "/local/adapter.safetensors")
        #expect(a.names == b.names && !a.names.isEmpty)
        for n in a.names { #expect(try a.floats(n) == b.floats(n), "\(n) differs between TCP across namespaces and one host") }
        let x = try t.losses(t.root + "/net"), y = try t.losses(t.root + "/one")
        #expect(x.count == 16 && y.count == 16)
        for s in 1...16 { #expect(abs((x[s] ?? .nan) - (y[s] ?? .nan)) <= 1e-5 * abs(y[s] ?? 1), "step \(s): 2 nodes \(x[s]!) vs np=1 \(y[s]!)") }
        // The ranks really were on two hosts: the log says where rank 1 ran.
        let where_ = try cluster.onNode(1, ["hostname"])
        #expect(where_.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "dcft-n1")
    }

    @Test("a rank killed on node 1 ends the job non-zero within 60 s, naming the rank and its host")
    func killedNode() throws {
        let t = try TinyRun()
        let cluster = try Cluster(nodes: 2, rate: "none")
        defer { cluster.down() }
        let start = Date()
        let r = try cluster.hostfileRun(t.config, ["train.max_steps=40", "output_dir=\(t.root)/k"], environment: ["DCFT_FAULT": "kill:1:5"],
                                        timeout: 90)
        let seconds = Date().timeIntervalSince(start)
        #expect(r.status != 0 && !r.timedOut, "\(r.stdout)\n\(r.stderr)")
        #expect(seconds < 60, "took \(seconds) s")
        let all = r.stdout + r.stderr
        #expect(all.contains("rank 1") && (all.contains("10.231.76.11") || all.contains("dcft-n1")), "\(all)")
    }
}

}

/// launch/cluster.sh from a test: brought up in `init`, torn down by `down()` (also when the test fails).
struct Cluster {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let script = root + "/launch/cluster.sh"

    /// Root with `ip netns`, or CI (where a missing capability must fail, not skip).
    static var available: Bool {
        if ProcessInfo.processInfo.environment["CI"] == "true" { return true }
        guard getuid() == 0, let r = try? ProcessRunner.run("bash", ["-c", "ip netns add dcft-avail && ip netns del dcft-avail"]) else { return false }
        return r.status == 0
    }

    let hostfile: String

    init(nodes: Int, rate: String) throws {
        let up = try ProcessRunner.run("bash", [Self.script, "up", String(nodes), "--rate", rate], timeout: 60)
        guard up.status == 0 else {
            _ = try? ProcessRunner.run("bash", [Self.script, "down"])
            throw ClusterError(message: "cluster.sh up failed: \(up.stderr)")
        }
        hostfile = try ProcessRunner.temporaryDirectory("dcft-cluster") + "/hosts"
        try ProcessRunner.run("bash", [Self.script, "hostfile", "1"]).stdout.write(toFile: hostfile, atomically: true, encoding: .utf8)
    }

    func down() { _ = try? ProcessRunner.run("bash", [Self.script, "down"], timeout: 60) }

    /// `cluster.sh run bash launch/hostfile.sh HOSTFILE CONFIG --set …` with the cluster's AGENT and MCA.
    func hostfileRun(_ config: String, _ sets: [String], environment: [String: String] = [:], timeout: Int = 120) throws -> ProcessRunner.Output {
        var env = environment
        env["DCFT"] = ProcessRunner.product("dcft")
        env["AGENT"] = Self.root + "/launch/netns-agent.sh"
        env["MCA"] = "--mca btl tcp,self --mca btl_tcp_if_include 10.231.76.0/24 --mca oob_tcp_if_include 10.231.76.0/24"
        return try ProcessRunner.run("bash", [Self.script, "run", "bash", Self.root + "/launch/hostfile.sh", hostfile, config]
                                     + sets.flatMap { ["--set", $0] }, environment: env, timeout: timeout)
    }

    func onNode(_ i: Int, _ command: [String]) throws -> ProcessRunner.Output {
        try ProcessRunner.run("bash", [Self.script, "exec", String(i)] + command, timeout: 30)
    }
}

struct ClusterError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
