import Foundation

/// A bound on how long one HDF5 read may take. The library can loop for ever on some corrupt
/// files (found by `dcft-fuzz dataset`: a variable-length string attribute whose global-heap
/// reference points into itself spins in `H5C_protect`), and a thread stuck inside C cannot be
/// interrupted. So every reading entry point of HDF5Kit runs under a deadline
/// (`DCFT_HDF5_READ_TIMEOUT` seconds, default 60); a watcher thread that finds one passed prints
/// `dcft: HDF5 did not return within N s reading FILE (OBJECT): the file is corrupt …` and ends
/// the process with exit code 3 — a clear error in bounded time instead of a hang.
enum HDF5ReadWatch {
    static let limit: Double = Double(ProcessInfo.processInfo.environment["DCFT_HDF5_READ_TIMEOUT"] ?? "") ?? 60
    private static let lock = NSLock()
    nonisolated(unsafe) private static var active: [Int: (deadline: Double, what: () -> String)] = [:]
    nonisolated(unsafe) private static var nextToken = 0
    private static let watcher: Void = {
        Thread.detachNewThread {
            while true {
                usleep(200_000)
                let now = ProcessInfo.processInfo.systemUptime
                lock.lock()
                let late = active.values.first { $0.deadline < now }
                lock.unlock()
                if let late {
                    fputs("dcft: HDF5 did not return within \(Int(limit)) s reading \(late.what()): the file is corrupt (or its file system hangs); stopping\n", stderr)
                    fflush(stderr)
                    _exit(3)
                }
            }
        }
    }()

    /// Runs `body` (HDF5 reads of `what`) under the deadline. `what` is only evaluated for the
    /// message (every batch read passes here: no string is built on the way).
    static func guarded<R>(_ what: @escaping @autoclosure () -> String, _ body: () throws -> R) rethrows -> R {
        _ = watcher
        lock.lock()
        let token = nextToken
        nextToken += 1
        active[token] = (ProcessInfo.processInfo.systemUptime + limit, what)
        lock.unlock()
        defer { lock.lock(); active[token] = nil; lock.unlock() }
        return try body()
    }
}
