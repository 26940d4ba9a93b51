// A small MPI program the Collectives tests launch with `mpirun -np 2` and `-np 3`.
// Each rank runs every collective on values it can predict from (rank, size) and prints
// one line `rank R/N: <check> ok` per check, or `rank R/N: <check> FAILED: ...` and exits 1.
// `mpi-selftest abort` makes rank size-1 abort the job with a message, to test that path;
// `mpi-selftest sweep` times allreduce over message sizes (below).
import Collectives
import Foundation
#if canImport(Glibc)
import Glibc
#endif

let comm: Communicator
do { comm = try Communicator.world() } catch { fputs("\(error)\n", stderr); exit(2) }
let r = comm.rank, n = comm.size
var failed = false

func report(_ name: String, _ ok: Bool, _ detail: @autoclosure () -> String = "") {
    if ok { print("rank \(r)/\(n): \(name) ok") } else {
        print("rank \(r)/\(n): \(name) FAILED: \(detail())"); failed = true
    }
}

// `mpi-selftest sweep [REPS]`: sum-allreduce time of Float buffers from 1 KiB to 128 MiB, a
// barrier before each call, REPS (default 7) calls per size; rank 0 prints
// "sweep BYTES min_ms median_ms" — the data bench/cluster_study.sh fits its α–β model to.
if CommandLine.arguments.dropFirst().first == "sweep" {
    let reps = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 7
    var bytes = 1 << 10
    while bytes <= 1 << 27 {
        var buf = [Float](repeating: 1, count: bytes / 4)
        var times: [Double] = []
        for _ in 0..<reps {
            try comm.barrier()
            let t0 = comm.stats.allreduce.seconds
            try comm.allreduce(&buf)
            times.append(comm.stats.allreduce.seconds - t0)
        }
        // The slowest rank's stay is the collective as a whole; report the max over ranks per call.
        var worst = times
        try comm.allreduce(&worst, op: .max)
        let sorted = worst.sorted()
        if r == 0 { print(String(format: "sweep %d %.4f %.4f", bytes, sorted[0] * 1000, sorted[sorted.count / 2] * 1000)) }
        bytes *= 2
    }
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "abort" {
    try comm.barrier()
    if r == n - 1 { comm.abort("deliberate failure for the test") }
    // The other ranks wait in a collective that never completes; MPI_Abort ends them.
    var x: [Float] = [1]
    try comm.allreduce(&x)
    sleep(30)
    exit(0)
}

do {
    // Float sum: rank r contributes (r+1)·(i+1); the sum is (i+1)·n(n+1)/2.
    var f = (0..<1000).map { Float(r + 1) * Float($0 + 1) }
    try comm.allreduce(&f)
    let tri = Float(n * (n + 1) / 2)
    report("allreduce-sum-float", f.enumerated().allSatisfy { $0.element == tri * Float($0.offset + 1) },
           "first \(f.prefix(3))")

    // Double sum with values that need Double precision.
    var d = [1e-12 * Double(r + 1), 1e12 + Double(r)]
    try comm.allreduce(&d)
    let expD0 = 1e-12 * Double(n * (n + 1) / 2), expD1 = 1e12 * Double(n) + Double(n * (n - 1) / 2)
    report("allreduce-sum-double", abs(d[0] - expD0) < 1e-24 && d[1] == expD1, "\(d)")

    // Max and min over ranks.
    var mx = [Int64(r), Int64(-r)]
    try comm.allreduce(&mx, op: .max)
    report("allreduce-max-int64", mx == [Int64(n - 1), 0], "\(mx)")
    var mn = [Int32(r * 10)]
    try comm.allreduce(&mn, op: .min)
    report("allreduce-min-int32", mn == [0], "\(mn)")

    // Broadcast from the last rank, fixed size and then variable size.
    var b = [Float](repeating: Float(r), count: 5)
    try b.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: n - 1) }
    report("broadcast-fixed", b == [Float](repeating: Float(n - 1), count: 5), "\(b)")
    let v = try comm.broadcast(r == 0 ? [Int32](1...7) : [], root: 0)
    report("broadcast-variable", v == [Int32](1...7), "\(v)")

    // Gather: equal counts.
    let g = try comm.gather([Int32(r), Int32(r * r)], root: 0)
    if r == 0 {
        let exp = (0..<n).flatMap { [Int32($0), Int32($0 * $0)] }
        report("gather", g == exp, "\(String(describing: g))")
    } else { report("gather", g == nil, "non-root got \(String(describing: g))") }

    // Gatherv: rank r sends r+1 values equal to r.
    let gv = try comm.gatherv([Double](repeating: Double(r), count: r + 1), root: 0)
    if r == 0 {
        let exp = (0..<n).map { [Double](repeating: Double($0), count: $0 + 1) }
        report("gatherv", gv == exp, "\(String(describing: gv))")
    } else { report("gatherv", gv == nil, "non-root got a result") }

    try comm.barrier()
    report("barrier", true)
    report("stats", comm.stats.allreduce.calls == 4 && comm.stats.allreduce.bytes == 4000 + 16 + 16 + 4,
           "\(comm.stats.allreduce)")
} catch {
    print("rank \(r)/\(n): error \(error)")
    failed = true
}
exit(failed ? 1 : 0)
