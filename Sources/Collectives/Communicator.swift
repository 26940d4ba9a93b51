import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The MPI world communicator: rank, size and the collectives the trainer needs.
///
/// `Communicator.world()` initialises MPI once per process (MPI may be initialised
/// only once) and registers `MPI_Finalize` at exit. Without `mpirun` Open MPI runs
/// as a singleton: rank 0 of size 1, and every collective is a local copy.
/// Errors come back as `MPIError` (the communicator uses MPI_ERRORS_RETURN) instead
/// of killing the job; `abort(_:)` is the deliberate way to stop every rank.
///
/// Collectives are blocking and must be called by every rank in the same order.
/// Calls are made from one thread (MPI_THREAD_FUNNELED).
public final class Communicator: @unchecked Sendable {
    /// This process's rank in `0..<size`.
    public let rank: Int
    /// Number of processes in the job.
    public let size: Int
    /// Host name as MPI reports it.
    public let processorName: String
    /// Time and bytes spent in collectives so far (reset it between measurements).
    public var stats = CollectiveStats()

    let comm: MPI_Comm

    private static let shared: Result<Communicator, MPIError> = {
        var provided: Int32 = 0
        let rc = MPI_Init_thread(nil, nil, dcft_mpi_thread_funneled(), &provided)
        if rc != dcft_mpi_success() {
            return .failure(MPIError(call: "MPI_Init_thread", code: rc, message: errorString(rc), rank: -1))
        }
        atexit {
            var finalized: Int32 = 0
            MPI_Finalized(&finalized)
            if finalized == 0 { MPI_Finalize() }
        }
        let world: MPI_Comm = dcft_mpi_comm_world()!
        MPI_Comm_set_errhandler(world, dcft_mpi_errors_return())
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(world, &rank)
        MPI_Comm_size(world, &size)
        var name = [CChar](repeating: 0, count: Int(dcft_mpi_max_processor_name()) + 1)
        var len: Int32 = 0
        MPI_Get_processor_name(&name, &len)
        return .success(Communicator(comm: world, rank: Int(rank), size: Int(size),
                                     processorName: String(cString: name)))
    }()

    private init(comm: MPI_Comm, rank: Int, size: Int, processorName: String) {
        self.comm = comm
        self.rank = rank
        self.size = size
        self.processorName = processorName
    }

    /// The world communicator, initialising MPI on first use.
    public static func world() throws -> Communicator { try shared.get() }

    static func errorString(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: Int(dcft_mpi_max_error_string()) + 1)
        var len: Int32 = 0
        MPI_Error_string(code, &buf, &len)
        return String(cString: buf)
    }

    func check(_ rc: Int32, _ call: String) throws {
        if rc != dcft_mpi_success() {
            throw MPIError(call: call, code: rc, message: Self.errorString(rc), rank: rank)
        }
    }

    // MARK: Collectives

    /// In-place allreduce: every rank ends with the element-wise reduction of all
    /// ranks' `buffer`. The buffers must have the same count on every rank.
    public func allreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp = .sum) throws {
        let t0 = monotonicSeconds()
        if size > 1 && buffer.count > 0 {
            try check(MPI_Allreduce(dcft_mpi_in_place(), buffer.baseAddress, Int32(buffer.count),
                                    T.mpiDatatype, op.handle, comm), "MPI_Allreduce")
        }
        stats.allreduce.calls += 1
        stats.allreduce.bytes += buffer.count * MemoryLayout<T>.stride
        stats.allreduce.seconds += monotonicSeconds() - t0
    }

    /// In-place allreduce of an array (see the buffer form).
    public func allreduce<T: MPIScalar>(_ array: inout [T], op: ReduceOp = .sum) throws {
        try array.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// Replaces `buffer` on every rank with `root`'s. Counts must agree on every rank.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int = 0) throws {
        let t0 = monotonicSeconds()
        if size > 1 && buffer.count > 0 {
            try check(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, Int32(root), comm),
                      "MPI_Bcast")
        }
        stats.broadcast.calls += 1
        stats.broadcast.bytes += buffer.count * MemoryLayout<T>.stride
        stats.broadcast.seconds += monotonicSeconds() - t0
    }

    /// Broadcasts an array whose length may differ on non-root ranks: the length
    /// goes first, then the contents; every rank returns root's array.
    public func broadcast<T: MPIScalar>(_ array: [T], root: Int = 0) throws -> [T] {
        var n = [Int64(array.count)]
        try n.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
        var out = rank == root ? array : [T](repeating: zeroOf(T.self), count: Int(n[0]))
        try out.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
        return out
    }

    /// Gathers `send` (same count on every rank) to `root`: root gets the ranks'
    /// arrays concatenated in rank order; the other ranks get nil.
    public func gather<T: MPIScalar>(_ send: [T], root: Int = 0) throws -> [T]? {
        let t0 = monotonicSeconds()
        defer {
            stats.gather.calls += 1
            stats.gather.bytes += send.count * MemoryLayout<T>.stride
            stats.gather.seconds += monotonicSeconds() - t0
        }
        if size == 1 { return send }
        var recv = [T](repeating: zeroOf(T.self), count: rank == root ? send.count * size : 0)
        try send.withUnsafeBufferPointer { s in
            try recv.withUnsafeMutableBufferPointer { r in
                try check(MPI_Gather(s.baseAddress, Int32(s.count), T.mpiDatatype,
                                     r.baseAddress, Int32(s.count), T.mpiDatatype, Int32(root), comm),
                          "MPI_Gather")
            }
        }
        return rank == root ? recv : nil
    }

    /// Gathers arrays of different lengths to `root`: root gets one array per rank,
    /// in rank order; the other ranks get nil.
    public func gatherv<T: MPIScalar>(_ send: [T], root: Int = 0) throws -> [[T]]? {
        guard let counts64 = try gather([Int64(send.count)], root: root) else {
            try gathervPayload(send, counts: [], root: root)
            return nil
        }
        let counts = counts64.map { Int($0) }
        let flat = try gathervPayload(send, counts: counts, root: root)
        var out: [[T]] = []
        var offset = 0
        for c in counts { out.append(Array(flat[offset..<offset + c])); offset += c }
        return out
    }

    @discardableResult
    private func gathervPayload<T: MPIScalar>(_ send: [T], counts: [Int], root: Int) throws -> [T] {
        let t0 = monotonicSeconds()
        defer {
            stats.gather.calls += 1
            stats.gather.bytes += send.count * MemoryLayout<T>.stride
            stats.gather.seconds += monotonicSeconds() - t0
        }
        if size == 1 { return send }
        let total = counts.reduce(0, +)
        var recv = [T](repeating: zeroOf(T.self), count: total)
        var rc32 = counts.map { Int32($0) }
        var displs = [Int32](repeating: 0, count: counts.count)
        for i in counts.indices.dropFirst() { displs[i] = displs[i - 1] + rc32[i - 1] }
        if rank != root { rc32 = [0]; displs = [0] }
        try send.withUnsafeBufferPointer { s in
            try recv.withUnsafeMutableBufferPointer { r in
                try check(MPI_Gatherv(s.baseAddress, Int32(s.count), T.mpiDatatype,
                                      r.baseAddress, rc32, displs, T.mpiDatatype, Int32(root), comm),
                          "MPI_Gatherv")
            }
        }
        return recv
    }

    /// Blocks until every rank has called it.
    public func barrier() throws {
        let t0 = monotonicSeconds()
        if size > 1 { try check(MPI_Barrier(comm), "MPI_Barrier") }
        stats.barrier.calls += 1
        stats.barrier.seconds += monotonicSeconds() - t0
    }

    /// Stops the whole job: prints `rank R (host): message` to standard error and
    /// calls MPI_Abort, which makes `mpirun` kill every rank and exit non-zero.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        let line = "dcft: rank \(rank) of \(size) (\(processorName)): \(message)\n"
        fputs(line, stderr)
        fflush(stderr)
        MPI_Abort(comm, code)
        exit(code)  // MPI_Abort does not return; this satisfies the type checker.
    }
}

@inline(__always)
private func zeroOf<T: MPIScalar>(_: T.Type) -> T {
    // Every MPIScalar is a plain fixed-width number; all-zero bytes are its zero.
    withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { p in
        UnsafeMutableRawPointer(p.baseAddress!).initializeMemory(as: UInt8.self, repeating: 0,
                                                                 count: MemoryLayout<T>.stride)
        return p[0]
    }
}
