import CHDF5
import Foundation

/// A failed HDF5 operation, naming the file and the object, with HDF5's own
/// error stack captured (never printed to the terminal by the library).
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    /// Path of the file the operation was on.
    public let file: String
    /// The object inside the file ("/input_ids", "/", an attribute "/@format"), or "" for the file itself.
    public let object: String
    /// What dcft was doing and what went wrong, in plain words.
    public let message: String
    /// HDF5's error stack, innermost last (function: description), possibly empty.
    public let stack: [String]

    public var description: String {
        var s = "HDF5 error in \(file)"
        if !object.isEmpty { s += " at \(object)" }
        s += ": \(message)"
        if let last = stack.last { s += " (HDF5: \(last))" }
        return s
    }
}

/// Global set-up and error-stack capture.
enum HDF5Library {
    /// Turns off HDF5's automatic printing of error stacks for the calling thread. Debian's
    /// HDF5 is built thread-safe, where error stacks (and this setting) are per thread, so
    /// every entry point calls it; it is one cheap library call.
    @inline(__always)
    static func quiet() {
        H5Eset_auto2(dcft_h5e_default(), nil, nil)
    }

    /// Library initialisation, once per process.
    static let silenced: Void = {
        // No flock() on HDF5 files: dcft never opens a file for writing that another process
        // reads, and the lock failed at random (EAGAIN) on freshly written files under parallel
        // tests. An explicit HDF5_USE_FILE_LOCKING in the environment still wins.
        setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0)
        H5open()
        quiet()
    }()

    /// Reads and clears the current thread's HDF5 error stack.
    static func takeErrorStack() -> [String] {
        var lines: [String] = []
        _ = withUnsafeMutablePointer(to: &lines) { ptr in
            H5Ewalk2(dcft_h5e_default(), H5E_WALK_DOWNWARD, { _, desc, client in
                guard let desc, let client else { return 0 }
                let out = client.assumingMemoryBound(to: [String].self)
                let fn = desc.pointee.func_name.map { String(cString: $0) } ?? "?"
                let text = desc.pointee.desc.map { String(cString: $0) } ?? ""
                out.pointee.append("\(fn): \(text)")
                return 0
            }, ptr)
        }
        H5Eclear2(dcft_h5e_default())
        return lines
    }

    /// An error for `file`/`object` carrying the captured HDF5 stack.
    static func error(_ file: String, _ object: String, _ message: String) -> HDF5Error {
        HDF5Error(file: file, object: object, message: message, stack: takeErrorStack())
    }
}

/// Process-wide HDF5 settings.
public enum HDF5Process {
    /// Tells HDF5 not to register its exit-time cleanup. Call first thing in `main`, before any
    /// other HDF5 call (it has no effect once the library is initialised). Every file dcft writes
    /// is closed explicitly; the cleanup only mattered for a file whose flush had failed (a full
    /// disk), and crashed there (SIGSEGV in `H5F__close_cb` from `H5_term_library`) after the
    /// error had been reported.
    public static func disableExitCleanup() { H5dont_atexit() }
}
