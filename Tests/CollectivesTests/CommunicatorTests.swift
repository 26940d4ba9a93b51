import Testing
import Foundation
import Collectives
import TestSupport

/// MPI may be initialised once per process, so every MPI test lives in one serialized suite.
@Suite("Communicator", .serialized)
struct CommunicatorTests {
    @Test("without mpirun: a singleton of rank 0, size 1, whose collectives are local")
    func singleton() throws {
        let comm = try Communicator.world()
        #expect(comm.rank == 0 && comm.size == 1)
        var f: [Float] = [1, 2, 3]
        try comm.allreduce(&f)
        #expect(f == [1, 2, 3])
        var d: [Double] = [4]
        try comm.allreduce(&d, op: .max)
        #expect(d == [4])
        #expect(try comm.broadcast([Int32(7), 8]) == [7, 8])
        #expect(try comm.gather([Int64(5)]) == [5])
        #expect(try comm.gatherv([Double](repeating: 1, count: 3)) == [[1, 1, 1]])
        try comm.barrier()
        #expect(comm.stats.allreduce.calls == 2)
        #expect(comm.stats.allreduce.bytes == 3 * 4 + 8)
    }

    @Test("mpirun -np 2 and -np 3: every rank gets the right result of every collective", arguments: [2, 3])
    func multiRank(np: Int) throws {
        let r = try ProcessRunner.mpirun(np: np, "mpi-selftest", [], timeout: 120)
        #expect(r.status == 0, "mpirun exited \(r.status)\nstdout:\n\(r.stdout)\nstderr:\n\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let checks = ["allreduce-sum-float", "allreduce-sum-double", "allreduce-max-int64", "allreduce-min-int32",
                      "broadcast-fixed", "broadcast-variable", "gather", "gatherv", "barrier", "stats"]
        for rank in 0..<np {
            for check in checks {
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
