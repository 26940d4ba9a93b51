import Testing
import Foundation
import Model
import TestSupport

/// A real Slurm (Debian's slurm-wlm 22.05 with munge) on launch/cluster.sh's network
/// namespaces, started by launch/slurm-cluster.sh: slurmctld on node 0, one slurmd per node with
/// its own host name. The job is `sbatch launch/slurm.sbatch`, unchanged; inside the allocation
/// Open MPI's `mpirun` starts its daemons on the nodes through Slurm (`srun`), and the ranks talk
/// over TCP on the cluster subnet only. Needs root, `ip netns` and the Slurm packages
/// (`launch/install-deps.sh --python`); skips without them, except under CI=true.
extension NamespaceSuites {
@Suite("Slurm on the simulated nodes (launch/slurm-cluster.sh)", .serialized, .enabled(if: SlurmCluster.available, "needs root, `ip netns` and slurm-wlm + munge (launch/install-deps.sh --python); under CI=true it must run"))
struct SlurmTests {
    @Test("sbatch launch/slurm.sbatch, started by mpirun and by srun --mpi=pmix: 2-node jobs with the adapter bytes of 2 local ranks")
    func twoNodeJobs() throws {
        let t = try TinyRun()
        let slurm = try SlurmCluster(nodes: 2)
        defer { slurm.down() }
        let common = ["train.hidden_dropout=0", "train.attention_dropout=0", "head.classifier_dropout=0", "train.max_steps=8",
                      "train.batch_size=16"]
        let local = try t.train(np: 2, common + ["output_dir=\(t.root)/local"])
        #expect(local.status == 0, "\(local.stderr)")
        let b = try SafeTensorsFile(path: t.root + "/local/adapter.safetensors")
        for launcher in ["mpirun", "srun"] {
            let job = try slurm.submit(["--nodes=2", "--ntasks-per-node=1", "--cpus-per-task=1"],
                                       script: Cluster.root + "/launch/slurm.sbatch",
                                       arguments: [t.config] + (common + ["output_dir=\(t.root)/\(launcher)"]).flatMap { ["--set", $0] },
                                       environment: ["DCFT_LAUNCHER": launcher])
            #expect(job.status == 0 && !job.timedOut, "\(launcher): \(job.stdout)\n\(job.stderr)")
            #expect(job.stdout.contains("2 rank(s) × 1 thread(s) on 2 node(s) (dcft-n[0-1]), started by \(launcher)"), "\(job.stdout)")
            #expect(job.stdout.contains("dcft train: task rte, 2 rank(s)"), "\(job.stdout)")
            let a = try SafeTensorsFile(path: t.root + "/\(launcher)/adapter.safetensors")
            #expect(a.names == b.names && !a.names.isEmpty)
            for n in a.names { #expect(try a.floats(n) == b.floats(n), "\(n) differs between the \(launcher) job and 2 local ranks") }
        }
        // Preemption: rank 1 gets SIGTERM at step 5 → checkpoint, exit 75, the script requeues
        // the job, which resumes and finishes with the same adapter bytes.
        let job = try slurm.submit(["--nodes=2", "--ntasks-per-node=1", "--cpus-per-task=1"],
                                   script: Cluster.root + "/launch/slurm.sbatch",
                                   arguments: [t.config] + (common + ["output_dir=\(t.root)/preempted"]).flatMap { ["--set", $0] },
                                   environment: ["DCFT_FAULT": "term:1:4"], timeout: 400)
        #expect(job.status == 0 && !job.timedOut, "\(job.stdout)\n\(job.stderr)")
        #expect(job.stdout.contains("preempted after step 5 of 8: exit 75") && job.stdout.contains("requeueing job"), "\(job.stdout)")
        #expect(job.stdout.contains("resumed from step 5"), "\(job.stdout)")
        let p = try SafeTensorsFile(path: t.root + "/preempted/adapter.safetensors")
        for n in b.names { #expect(try p.floats(n) == b.floats(n), "\(n) differs after the preempted, requeued job") }
    }
}

}

/// launch/slurm-cluster.sh from a test: brought up in `init`, torn down by `down()`.
struct SlurmCluster {
    static let script = Cluster.root + "/launch/slurm-cluster.sh"

    static var available: Bool {
        if ProcessInfo.processInfo.environment["CI"] == "true" { return true }
        guard Cluster.available, let r = try? ProcessRunner.run("bash", ["-c", "command -v sbatch && command -v slurmd && command -v munged"]) else {
            return false
        }
        return r.status == 0
    }

    init(nodes: Int) throws {
        let up = try ProcessRunner.run("bash", [Self.script, "up", String(nodes), "--rate", "none"], timeout: 90)
        guard up.status == 0 else {
            _ = try? ProcessRunner.run("bash", [Self.script, "down"], timeout: 60)
            throw ClusterError(message: "slurm-cluster.sh up failed: \(up.stdout)\n\(up.stderr)")
        }
    }

    func down() { _ = try? ProcessRunner.run("bash", [Self.script, "down"], timeout: 60) }

    /// `sbatch --wait` from node 0; stdout is the job's output file.
    func submit(_ options: [String], script: String, arguments: [String], environment: [String: String] = [:],
                timeout: Int = 100) throws -> ProcessRunner.Output {
        try ProcessRunner.run("bash", [Self.script, "submit"] + options + ["--", script] + arguments,
                              environment: environment.merging(["DCFT": ProcessRunner.product("dcft")]) { a, _ in a }, timeout: timeout)
    }
}
