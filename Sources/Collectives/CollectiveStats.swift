#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counters of time and traffic spent in collectives, per operation kind.
/// `bytes` is the payload this rank contributed (for allreduce: the buffer size).
public struct CollectiveStats: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var calls = 0
        public var bytes = 0
        public var seconds = 0.0
        public init() {}
    }
    public var allreduce = Entry()
    public var broadcast = Entry()
    public var gather = Entry()
    public var barrier = Entry()

    public init() {}

    /// Total seconds over every kind.
    public var totalSeconds: Double { allreduce.seconds + broadcast.seconds + gather.seconds + barrier.seconds }
}

/// Monotonic wall clock in seconds.
@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
