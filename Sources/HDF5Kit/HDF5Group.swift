import CHDF5

/// A group inside an HDF5 file (the root group "/" or a nested one).
///
/// Child paths are relative to the group ("a/b" is a grandchild). Every failure
/// throws an `HDF5Error` naming the file and the full object path.
public final class HDF5Group {
    public let file: HDF5File
    /// Absolute path of this group inside the file, e.g. "/" or "/adapters".
    public let path: String
    /// The group's own handle; `nil` for the root, which uses the file handle.
    private let ownID: hid_t?

    init(file: HDF5File, id: hid_t?, path: String) {
        self.file = file
        self.ownID = id
        self.path = path
    }

    deinit { if let ownID { H5Gclose(ownID) } }

    var id: hid_t { ownID ?? file.id }

    /// Absolute path of a child, for messages.
    func fullPath(_ name: String) -> String {
        if name == "." { return path }
        return path == "/" ? "/" + name : path + "/" + name
    }

    func error(_ name: String, _ message: String) -> HDF5Error {
        HDF5Library.error(file.path, fullPath(name), message)
    }

    /// Whether a link `name` exists (intermediate groups are checked one by one).
    public func contains(_ name: String) -> Bool {
        HDF5Library.quiet()
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if H5Lexists(id, prefix, dcft_h5p_default()) <= 0 { _ = HDF5Library.takeErrorStack(); return false }
        }
        return !prefix.isEmpty
    }

    /// Creates a child group (and missing parents).
    @discardableResult
    public func createGroup(_ name: String) throws -> HDF5Group {
        HDF5Library.quiet()
        let lcpl = H5Pcreate(dcft_h5p_link_create())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let gid = H5Gcreate2(id, name, lcpl, dcft_h5p_default(), dcft_h5p_default())
        if gid < 0 { throw error(name, contains(name) ? "cannot create group: the name exists" : "cannot create group") }
        return HDF5Group(file: file, id: gid, path: fullPath(name))
    }

    /// Opens an existing child group.
    public func group(_ name: String) throws -> HDF5Group {
        HDF5Library.quiet()
        guard contains(name) else { throw error(name, "no such group") }
        let gid = H5Gopen2(id, name, dcft_h5p_default())
        if gid < 0 { throw error(name, "cannot open as a group (is it a dataset?)") }
        return HDF5Group(file: file, id: gid, path: fullPath(name))
    }

    /// What kind of object a child is.
    public enum ObjectKind: Sendable { case group, dataset, other }

    /// Names of the direct children, in name order, with their kind.
    public func children() throws -> [(name: String, kind: ObjectKind)] {
        try HDF5ReadWatch.guarded("\(self.file.path) (members of \(self.path))") {
            HDF5Library.quiet()
            var info = H5G_info_t()
            if H5Gget_info(id, &info) < 0 { throw error(".", "cannot list group") }
            var out: [(String, ObjectKind)] = []
            for i in 0..<info.nlinks {
                let len = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, dcft_h5p_default())
                if len < 0 { throw error(".", "cannot read child name \(i)") }
                var buf = [CChar](repeating: 0, count: Int(len) + 1)
                H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, Int(len) + 1, dcft_h5p_default())
                let name = String(cString: buf)
                var oinfo = H5O_info_t()
                var kind = ObjectKind.other
                if H5Oget_info_by_name2(id, name, &oinfo, UInt32(H5O_INFO_BASIC), dcft_h5p_default()) >= 0 {
                    kind = oinfo.type == H5O_TYPE_GROUP ? .group : oinfo.type == H5O_TYPE_DATASET ? .dataset : .other
                }
                out.append((name, kind))
            }
            return out
        }
    }

    /// Opens any object (group or dataset) by relative path; "." is this group.
    func openObject(_ name: String) throws -> hid_t {
        if name != "." && !contains(name) { throw error(name, "no such object") }
        let oid = H5Oopen(id, name, dcft_h5p_default())
        if oid < 0 { throw error(name, "cannot open object") }
        return oid
    }
}
