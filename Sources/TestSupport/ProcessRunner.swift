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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["\(timeout)", command] + arguments
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Drain both pipes before waiting so a chatty child cannot block on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
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
