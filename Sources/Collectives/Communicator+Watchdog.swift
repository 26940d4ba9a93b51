import CMPI
import Foundation

extension Communicator {
    /// Ranks that collect arrival notices (two, so that either can name the other when it stalls).
    static let collectors = [0, 1]
    /// Exit code of a job the watchdog stopped.
    public static let watchdogExitCode: Int32 = 124

    /// In-place allreduce with a deadline (the hang watchdog): as `allreduce`, but a rank that has
    /// waited `timeout` seconds gives up — it reports, on standard error, `label` and which ranks
    /// never reached this collective, and aborts the job (`MPI_Abort`, exit 124).
    ///
    /// How the missing ranks are known: before the collective each rank sends a small arrival
    /// notice to ranks 0 and 1; those two receive one from every other rank. A notice not received
    /// by the deadline is a rank that never got there (stopped, stuck in I/O, deadlocked elsewhere).
    /// The other ranks wait 10 s longer before giving up themselves, so that 0 or 1 report first.
    /// The allreduce is `MPI_Iallreduce` polled with `MPI_Test` (busy for the first 10 ms, as a
    /// blocking allreduce would be, then every 200 µs), so results are those of `allreduce`.
    public func watchedAllreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp = .sum,
                                               timeout: Double, label: @autoclosure () -> String) throws {
        guard size > 1, buffer.count > 0, timeout > 0 else { return try allreduce(buffer, op: op) }
        let t0 = monotonicSeconds()
        let sequence = Int64(stats.allreduce.calls)
        let tag = Int32(1000 + sequence % 30000)
        let collector = Self.collectors.contains(rank)
        let notice = UnsafeMutablePointer<Int64>.allocate(capacity: 1), inbox = UnsafeMutablePointer<Int64>.allocate(capacity: size)
        defer { notice.deallocate(); inbox.deallocate() }
        notice.pointee = sequence
        inbox.initialize(repeating: -1, count: size)
        var sends: [MPI_Request?] = [], receives: [(rank: Int, request: MPI_Request?)] = []
        for c in Self.collectors where c != rank && c < size {
            var r: MPI_Request? = dcft_mpi_request_null()
            try check(MPI_Isend(notice, 1, Int64.mpiDatatype, Int32(c), tag, comm, &r), "MPI_Isend")
            sends.append(r)
        }
        if collector {
            for p in 0..<size where p != rank {
                var r: MPI_Request? = dcft_mpi_request_null()
                try check(MPI_Irecv(inbox + p, 1, Int64.mpiDatatype, Int32(p), tag, comm, &r), "MPI_Irecv")
                receives.append((p, r))
            }
        }
        var request: MPI_Request? = dcft_mpi_request_null()
        try check(MPI_Iallreduce(dcft_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, op.handle, comm, &request),
                  "MPI_Iallreduce")
        let deadline = t0 + timeout + (collector ? 0 : 10)
        var done: Int32 = 0
        while true {
            try check(MPI_Test(&request, &done, dcft_mpi_status_ignore()), "MPI_Test")
            if done != 0 { break }
            let now = monotonicSeconds()
            if now > deadline {
                var missing: [Int] = []
                for i in receives.indices {
                    var arrived: Int32 = 0
                    _ = MPI_Test(&receives[i].request, &arrived, dcft_mpi_status_ignore())
                    if arrived == 0 { missing.append(receives[i].rank) }
                }
                let who = collector
                    ? (missing.isEmpty ? "every rank arrived, but the collective did not complete (a network problem?)"
                       : "rank(s) \(missing.map(String.init).joined(separator: ", ")) never reached it (stopped, stuck or deadlocked)")
                    : "ranks 0 and 1 name the ranks that did not arrive"
                abort(String(format: "hang watchdog: waited %.0f s in %@; %@; stopping the job", now - t0, label(), who),
                      code: Self.watchdogExitCode)
            }
            if now - t0 > 0.01 { usleep(200) }
        }
        for i in sends.indices { try check(MPI_Wait(&sends[i], dcft_mpi_status_ignore()), "MPI_Wait") }
        for i in receives.indices { try check(MPI_Wait(&receives[i].request, dcft_mpi_status_ignore()), "MPI_Wait") }
        stats.allreduce.calls += 1
        stats.allreduce.bytes += buffer.count * MemoryLayout<T>.stride
        stats.allreduce.seconds += monotonicSeconds() - t0
    }
}
