import CHDF5

/// A value stored as an HDF5 attribute.
public enum HDF5Attribute: Equatable, Sendable, CustomStringConvertible {
    /// A variable-length UTF-8 string (what h5py reads back as `str`).
    case string(String)
    case int(Int64)
    case double(Double)
    case ints([Int64])
    case doubles([Double])

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .ints(let v): return "\(v)"
        case .doubles(let v): return "\(v)"
        }
    }
}

/// Attributes on this group or on any object below it (`object` is a relative path, "." for the group).
extension HDF5Group {
    /// Sets (creating or replacing) attribute `name` on `object`.
    public func setAttribute(_ name: String, _ value: HDF5Attribute, on object: String = ".") throws {
        HDF5Library.quiet()
        let oid = try openObject(object)
        defer { H5Oclose(oid) }
        let where_ = fullPath(object) + "@" + name
        if H5Aexists(oid, name) > 0 { H5Adelete(oid, name) }
        switch value {
        case .string(let s):
            let type = H5Tcopy(dcft_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, dcft_h5t_variable())
            H5Tset_cset(type, H5T_CSET_UTF8)
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let aid = H5Acreate2(oid, name, type, space, dcft_h5p_default(), dcft_h5p_default())
            if aid < 0 { throw HDF5Library.error(file.path, where_, "cannot create attribute") }
            defer { H5Aclose(aid) }
            let rc = s.withCString { cs -> herr_t in
                var p: UnsafePointer<CChar>? = cs
                return H5Awrite(aid, type, &p)
            }
            if rc < 0 { throw HDF5Library.error(file.path, where_, "cannot write attribute") }
        case .int(let v): try writeNumeric(oid, name, [v], scalar: true, where_)
        case .double(let v): try writeNumeric(oid, name, [v], scalar: true, where_)
        case .ints(let v): try writeNumeric(oid, name, v, scalar: false, where_)
        case .doubles(let v): try writeNumeric(oid, name, v, scalar: false, where_)
        }
    }

    private func writeNumeric<T: HDF5Scalar>(_ oid: hid_t, _ name: String, _ values: [T], scalar: Bool, _ where_: String) throws {
        var dims = [hsize_t(values.count)]
        let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let aid = H5Acreate2(oid, name, T.hdf5Type, space, dcft_h5p_default(), dcft_h5p_default())
        if aid < 0 { throw HDF5Library.error(file.path, where_, "cannot create attribute") }
        defer { H5Aclose(aid) }
        let rc = values.withUnsafeBytes { H5Awrite(aid, T.hdf5Type, $0.baseAddress) }
        if rc < 0 { throw HDF5Library.error(file.path, where_, "cannot write attribute") }
    }

    /// Names of the attributes on `object`, in name order.
    public func attributeNames(on object: String = ".") throws -> [String] {
        try HDF5ReadWatch.guarded("\(self.file.path) (attributes of \(self.path)/\(object))") {
            HDF5Library.quiet()
            let oid = try openObject(object)
            defer { H5Oclose(oid) }
            var names: [String] = []
            var info = H5O_info_t()
            H5Oget_info2(oid, &info, UInt32(H5O_INFO_NUM_ATTRS))
            for i in 0..<info.num_attrs {
                let len = H5Aget_name_by_idx(oid, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, dcft_h5p_default())
                if len < 0 { continue }
                var buf = [CChar](repeating: 0, count: Int(len) + 1)
                H5Aget_name_by_idx(oid, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, Int(len) + 1, dcft_h5p_default())
                names.append(String(cString: buf))
            }
            return names
        }
    }

    /// Reads attribute `name` on `object`. Integers come back as `.int`/`.ints`,
    /// floats as `.double`/`.doubles`, strings (fixed or variable length) as `.string`.
    public func attribute(_ name: String, on object: String = ".") throws -> HDF5Attribute {
        try HDF5ReadWatch.guarded("\(self.file.path) (attribute \(name) of \(self.path)/\(object))") {
            HDF5Library.quiet()
            let oid = try openObject(object)
            defer { H5Oclose(oid) }
            let where_ = fullPath(object) + "@" + name
            guard H5Aexists(oid, name) > 0 else {
                _ = HDF5Library.takeErrorStack()
                throw HDF5Error(file: file.path, object: where_, message: "no such attribute", stack: [])
            }
            let aid = H5Aopen(oid, name, dcft_h5p_default())
            if aid < 0 { throw HDF5Library.error(file.path, where_, "cannot open attribute") }
            defer { H5Aclose(aid) }
            let type = H5Aget_type(aid)
            defer { H5Tclose(type) }
            let space = H5Aget_space(aid)
            defer { H5Sclose(space) }
            let n = Int(H5Sget_simple_extent_npoints(space))
            let isScalar = H5Sget_simple_extent_type(space) == H5S_SCALAR
            switch H5Tget_class(type) {
            case H5T_STRING:
                guard n == 1 else { throw HDF5Error(file: file.path, object: where_, message: "string arrays are not supported", stack: []) }
                if H5Tis_variable_str(type) > 0 {
                    var p: UnsafeMutablePointer<CChar>? = nil
                    if H5Aread(aid, type, &p) < 0 { throw HDF5Library.error(file.path, where_, "cannot read attribute") }
                    defer { if p != nil { H5free_memory(p) } }
                    return .string(p.map { String(cString: $0) } ?? "")
                }
                let size = H5Tget_size(type)
                var buf = [CChar](repeating: 0, count: size + 1)
                if H5Aread(aid, type, &buf) < 0 { throw HDF5Library.error(file.path, where_, "cannot read attribute") }
                return .string(String(cString: buf))
            case H5T_INTEGER:
                var v = [Int64](repeating: 0, count: n)
                if H5Aread(aid, Int64.hdf5Type, &v) < 0 { throw HDF5Library.error(file.path, where_, "cannot read attribute") }
                return isScalar ? .int(v[0]) : .ints(v)
            case H5T_FLOAT:
                var v = [Double](repeating: 0, count: n)
                if H5Aread(aid, Double.hdf5Type, &v) < 0 { throw HDF5Library.error(file.path, where_, "cannot read attribute") }
                return isScalar ? .double(v[0]) : .doubles(v)
            default:
                throw HDF5Error(file: file.path, object: where_, message: "unsupported attribute type \(describeType(type))", stack: [])
            }
        }
    }
}
