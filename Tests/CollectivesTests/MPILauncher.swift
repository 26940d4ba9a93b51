import Foundation

/// Runs `mpirun -np N <built executable> args…` from a test, with an environment
/// cleaned of the OMPI_/PMIX_/ORTE_ variables a singleton MPI run in this process
/// exported (a child mpirun that inherits them fails silently).
enum MPILauncher {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// Directory holding the built products (the test bundle sits beside them).
    static var productsDirectory: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    static func run(np: Int, executable: String, arguments: [String] = [], timeout: Int = 120) throws -> Result {
        let exe = productsDirectory.appendingPathComponent(executable).path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: exe,
                NSLocalizedDescriptionKey: "\(exe) is not built: run `swift build --build-tests` first"])
        }
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !key.hasPrefix("OMPI_") && !key.hasPrefix("PMIX_") && !key.hasPrefix("ORTE_") && !key.hasPrefix("OPAL_")
        }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["\(timeout)", "mpirun", "-np", "\(np)", "--oversubscribe", exe] + arguments
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes fully before waiting, so a chatty child cannot block on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let stderrBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { stderrBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let stderrData = stderrBox.data
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
