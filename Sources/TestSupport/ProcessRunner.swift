import Foundation

/// Runs the package's built programs (and mpirun, python3) from tests: output captured,
/// environment cleaned of the OMPI_/PMIX_/ORTE_/OPAL_ variables a singleton MPI run in the
/// test process exported (a child mpirun that inherits them fails silently), root allowed.
public enum ProcessRunner {
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// Whether the process was stopped by `timeout` (exit status 124).
        public var timedOut: Bool { status == 124 }
    }

    /// Directory holding the built products (the test bundle sits beside them).
    public static var productsDirectory: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    /// The path of a built executable of this package.
    public static func product(_ name: String) -> String { productsDirectory.appendingPathComponent(name).path }

    /// Runs `command` (a path, or a name looked up on PATH) under `timeout seconds`.
    @discardableResult
    public static func run(_ command: String, _ arguments: [String], environment: [String: String] = [:],
                           timeout: Int = 600) throws -> Output {
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !key.hasPrefix("OMPI_") && !key.hasPrefix("PMIX_") && !key.hasPrefix("ORTE_") && !key.hasPrefix("OPAL_")
        }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        for (k, v) in environment { env[k] = v }
        // posix_spawn and waitpid rather than Foundation's Process: its SIGCHLD-driven
        // waitUntilExit was seen to miss the exit of a child that had started daemons
        // (slurm-cluster.sh up), leaving the test hung on a zombie.
        let argv = ["/usr/bin/timeout", "\(timeout)", command] + arguments
        let envp = env.map { "\($0.key)=\($0.value)" }
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        // The child starts with no signal blocked and default dispositions (the test runner's
        // threads may block some, and a blocked mask is inherited: mpirun would never see SIGUSR1).
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none); sigfillset(&all)
        sigdelset(&all, SIGKILL); sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = withCStrings(argv) { a in withCStrings(envp) { e in posix_spawn(&pid, argv[0], &actions, &attr, a, e) } }
        close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else { close(outPipe[0]); close(errPipe[0]); throw POSIXError(.init(rawValue: rc) ?? .EIO) }
        // Drain both pipes while the child runs (a chatty child must not block on a full pipe),
        // and stop waiting for their end 5 s after the child exits: a daemon it started may hold
        // them open for ever (slurm-cluster.sh's slurmd, say), and the timeout must still bound us.
        let o = Sink(fd: outPipe[0]), e = Sink(fd: errPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(status: code, stdout: o.finish(), stderr: e.finish())
    }

    /// Reads a pipe to its end on its own thread.
    private final class Sink: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(fd: Int32) {
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    lock.lock(); data.append(contentsOf: buffer[0..<n]); lock.unlock()
                }
                close(fd)
                done.signal()
            }
        }

        func finish() -> String {
            _ = done.wait(timeout: .now() + 5)
            lock.lock(); defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// `body` with a NULL-terminated C array of `strings`.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let c = strings.map { strdup($0) } + [nil]
        defer { c.forEach { free($0) } }
        return body(c)
    }

    /// `mpirun -np N --oversubscribe` of a built product, one BLAS thread per rank.
    @discardableResult
    public static func mpirun(np: Int, _ product: String, _ arguments: [String], environment: [String: String] = [:],
                              timeout: Int = 600) throws -> Output {
        var env = environment
        env["OPENBLAS_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] ?? "1"
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        var args = ["-np", "\(np)", "--oversubscribe"]
        for k in env.keys.sorted() where !k.hasPrefix("OMPI_") { args += ["-x", k] }
        return try run("mpirun", args + [self.product(product)] + arguments, environment: env, timeout: timeout)
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory(_ prefix: String = "dcft") throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
