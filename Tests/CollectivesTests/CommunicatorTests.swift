import Testing
import Foundation
import Collectives
import TestSupport

/// MPI may be initialised once per process, so every MPI test lives in one serialized suite.
@Suite("Communicator", .serialized)
struct CommunicatorTests {
    /// Run as a child process, not in the test process: MPI's singleton start forks a helper,
    /// and a fork while other tests run multithreaded OpenBLAS deadlocks in OpenBLAS 0.3.21's
    /// fork handler (seen: the whole suite hung with the test process idle).
    @Test("without mpirun: a singleton of rank 0, size 1, whose collectives are local")
    func singleton() throws {
        let r = try ProcessRunner.run(ProcessRunner.product("mpi-selftest"), [], timeout: 120)
        #expect(r.status == 0, "mpi-selftest exited \(r.status)\nstdout:\n\(r.stdout)\nstderr:\n\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        for check in Self.checks {
            #expect(lines.contains("rank 0/1: \(check) ok"), "missing \(check)\n\(r.stdout)")
        }
    }

    static let checks = ["allreduce-sum-float", "allreduce-sum-double", "allreduce-max-int64", "allreduce-min-int32",
                         "broadcast-fixed", "broadcast-variable", "gather", "gatherv", "barrier", "stats"]

    @Test("mpirun -np 2 and -np 3: every rank gets the right result of every collective", arguments: [2, 3])
    func multiRank(np: Int) throws {
        let r = try ProcessRunner.mpirun(np: np, "mpi-selftest", [], timeout: 120)
        #expect(r.status == 0, "mpirun exited \(r.status)\nstdout:\n\(r.stdout)\nstderr:\n\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        for rank in 0..<np {
            for check in Self.checks {
                #expect(lines.contains("rank \(rank)/\(np): \(check) ok"), "missing rank \(rank) \(check)\n\(r.stdout)")
            }
        }
        #expect(!r.stdout.contains("FAILED"))
    }

    @Test("abort on one rank stops the job non-zero with a message naming the rank")
    func abortNamesRank() throws {
        let r = try ProcessRunner.mpirun(np: 2, "mpi-selftest", ["abort"], timeout: 60)
        #expect(r.status != 0)
        #expect(r.status != 124, "the job hung until the timeout instead of aborting")
        #expect(r.stderr.contains("rank 1 of 2"), "stderr:\n\(r.stderr)")
        #expect(r.stderr.contains("deliberate failure for the test"))
    }
}
