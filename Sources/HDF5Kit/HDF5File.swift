import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open HDF5 file. Its root group is `root`; objects are addressed by paths
/// such as "input_ids" or "adapters/layer.0/A".
///
/// The file closes when the last `HDF5File`/`HDF5Group` referring to it is
/// released, or explicitly with `close()`. HDF5 here is the serial library: use a
/// file from one thread at a time.
public final class HDF5File {
    /// The path the file was opened or created with.
    public let path: String
    /// Whether the file was opened for writing.
    public let writable: Bool
    let id: hid_t
    private var closed = false

    private init(path: String, id: hid_t, writable: Bool) {
        self.path = path
        self.id = id
        self.writable = writable
    }

    deinit { if !closed { H5Fclose(id) } }

    /// Creates a new file, replacing an existing one when `overwrite` is true
    /// (otherwise an existing file is an error and is left untouched).
    public static func create(_ path: String, overwrite: Bool = true) throws -> HDF5File {
        HDF5Library.quiet()
        _ = HDF5Library.silenced
        let flags = overwrite ? dcft_h5f_acc_trunc() : dcft_h5f_acc_excl()
        let id = H5Fcreate(path, flags, dcft_h5p_default(), dcft_h5p_default())
        if id < 0 {
            let exists = access(path, F_OK) == 0
            throw HDF5Library.error(path, "", exists && !overwrite
                ? "cannot create: the file already exists" : "cannot create the file (check the directory exists and is writable)")
        }
        return HDF5File(path: path, id: id, writable: true)
    }

    /// Opens an existing file. A missing file, a file that is not HDF5, and a
    /// truncated or corrupted file each give an `HDF5Error` that says which.
    public static func open(_ path: String, writable: Bool = false) throws -> HDF5File {
        try HDF5ReadWatch.guarded("\(path)") {
            HDF5Library.quiet()
            _ = HDF5Library.silenced
            if access(path, F_OK) != 0 {
                throw HDF5Error(file: path, object: "", message: "no such file", stack: [])
            }
            if access(path, writable ? (R_OK | W_OK) : R_OK) != 0 {
                throw HDF5Error(file: path, object: "", message: "permission denied", stack: [])
            }
            let isHDF5 = H5Fis_hdf5(path)
            if isHDF5 == 0 {
                throw HDF5Error(file: path, object: "", message: "not an HDF5 file (no HDF5 signature found)", stack: [])
            }
            let id = H5Fopen(path, writable ? dcft_h5f_acc_rdwr() : dcft_h5f_acc_rdonly(), dcft_h5p_default())
            if id < 0 || isHDF5 < 0 {
                if id >= 0 { H5Fclose(id) }
                let stack = HDF5Library.takeErrorStack()
                let truncated = stack.contains { $0.contains("truncated") }
                throw HDF5Error(file: path, object: "",
                                message: truncated ? "the file is truncated (shorter than its HDF5 metadata says)"
                                                   : "cannot open: the file is corrupted or unreadable",
                                stack: stack)
            }
            return HDF5File(path: path, id: id, writable: writable)
        }
    }

    /// The root group "/".
    public var root: HDF5Group { HDF5Group(file: self, id: nil, path: "/") }

    /// Writes buffered data and metadata to the operating system.
    public func flush() throws {
        HDF5Library.quiet()
        if H5Fflush(id, H5F_SCOPE_GLOBAL) < 0 { throw HDF5Library.error(path, "", "flush failed") }
    }

    /// Closes the file now; later use of its groups fails with an error.
    public func close() throws {
        HDF5Library.quiet()
        if closed { return }
        closed = true
        if H5Fclose(id) < 0 { throw HDF5Library.error(path, "", "close failed (data may not be on disk)") }
    }
}
