import Dispatch

/// Splits elementwise and row-wise loops across cores.
///
/// Work is cut into at most `Parallel.threads` contiguous chunks; each chunk is
/// processed by one thread, so results never depend on the thread count for
/// row-independent kernels (reductions across rows are done by the caller, serially).
public enum Parallel {
    /// Maximum number of threads for kernel loops (default: active processor count).
    /// Set it to the per-rank core budget when several MPI ranks share a node.
    nonisolated(unsafe) public static var threads: Int = ProcessInfoLite.activeProcessorCount

    /// Calls `body` on disjoint ranges that cover `0..<count`.
    ///
    /// - Parameters:
    ///   - count: number of items (rows or elements).
    ///   - grain: minimum items per chunk; loops smaller than `2·grain` run inline.
    @inlinable
    public static func forRanges(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(threads, count / max(grain, 1))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let per = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * per, hi = min(count, lo + per)
                if lo < hi { body(lo..<hi) }
            }
        }
    }
}

extension Parallel {
    /// Calls `body(block, range)` for the fixed blocks `[b·blockSize, min(count, (b+1)·blockSize))`,
    /// blocks in parallel. The cut does not depend on the thread count, so per-block partial
    /// results summed afterwards in block order are bitwise reproducible.
    @inlinable
    public static func forBlocks(_ count: Int, blockSize: Int, _ body: (Int, Range<Int>) -> Void) {
        let blocks = (count + blockSize - 1) / blockSize
        forRanges(blocks, grain: 1) { range in
            for b in range { body(b, (b * blockSize)..<min(count, (b + 1) * blockSize)) }
        }
    }
}

/// Processor count without pulling Foundation into the kernel module.
public enum ProcessInfoLite {
    public static var activeProcessorCount: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return max(1, Int(n))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
