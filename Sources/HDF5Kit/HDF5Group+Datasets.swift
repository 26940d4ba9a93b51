import CHDF5

/// Typed datasets of any rank: whole writes, whole reads and row-range (hyperslab) reads.
extension HDF5Group {
    /// Writes `values` as a new dataset `name` of `shape` (default: 1-D of `values.count`).
    /// Parent groups are created as needed. An existing dataset of that name is an error.
    public func write<T: HDF5Scalar>(_ name: String, _ values: [T], shape: [Int]? = nil) throws {
        HDF5Library.quiet()
        try values.withUnsafeBufferPointer { try write(name, UnsafeRawBufferPointer($0), type: T.self, shape: shape ?? [values.count]) }
    }

    /// Writes `buffer` (row-major, `shape.reduce(1,*)` elements) as dataset `name`.
    public func write<T: HDF5Scalar>(_ name: String, _ buffer: UnsafeRawBufferPointer, type: T.Type, shape: [Int]) throws {
        HDF5Library.quiet()
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), count * MemoryLayout<T>.stride == buffer.count else {
            throw HDF5Error(file: file.path, object: fullPath(name),
                            message: "shape \(shape) does not match \(buffer.count / MemoryLayout<T>.stride) elements",
                            stack: [])
        }
        if contains(name) { throw HDF5Error(file: file.path, object: fullPath(name), message: "dataset already exists", stack: []) }
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        if space < 0 { throw error(name, "cannot create dataspace for shape \(shape)") }
        defer { H5Sclose(space) }
        let lcpl = H5Pcreate(dcft_h5p_link_create())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let dset = H5Dcreate2(id, name, T.hdf5Type, space, lcpl, dcft_h5p_default(), dcft_h5p_default())
        if dset < 0 { throw error(name, "cannot create dataset") }
        defer { H5Dclose(dset) }
        if count > 0 {
            if H5Dwrite(dset, T.hdf5Type, dcft_h5s_all(), dcft_h5s_all(), dcft_h5p_default(), buffer.baseAddress) < 0 {
                throw error(name, "write failed (disk full?)")
            }
        }
    }

    /// Shape of dataset `name`.
    public func shape(of name: String) throws -> [Int] {
        try HDF5ReadWatch.guarded("\(self.file.path) (\(self.path)/\(name))") {
            HDF5Library.quiet()
            let dset = try openDataset(name)
            defer { H5Dclose(dset) }
            return try datasetShape(dset, name)
        }
    }

    /// The stored element type of `name` ("float32", "int8", ...).
    public func storedType(of name: String) throws -> String {
        try HDF5ReadWatch.guarded("\(self.file.path) (\(self.path)/\(name))") {
            HDF5Library.quiet()
            let dset = try openDataset(name)
            defer { H5Dclose(dset) }
            let t = H5Dget_type(dset)
            defer { H5Tclose(t) }
            return describeType(t)
        }
    }

    /// Reads a whole dataset. The stored type must be exactly `T`: no silent conversion.
    public func read<T: HDF5Scalar>(_ name: String, as: T.Type = T.self) throws -> (shape: [Int], values: [T]) {
        try HDF5ReadWatch.guarded("\(self.file.path) (\(self.path)/\(name))") {
            HDF5Library.quiet()
            let dset = try openDataset(name)
            defer { H5Dclose(dset) }
            try checkType(dset, name, T.self)
            let shape = try datasetShape(dset, name)
            var values = [T](repeating: T.hdf5Zero, count: shape.reduce(1, *))
            if !values.isEmpty {
                let rc = values.withUnsafeMutableBytes {
                    H5Dread(dset, T.hdf5Type, dcft_h5s_all(), dcft_h5s_all(), dcft_h5p_default(), $0.baseAddress)
                }
                if rc < 0 { throw error(name, "read failed (truncated or corrupted data)") }
            }
            return (shape, values)
        }
    }

    /// Reads rows `rows` of the first dimension (a hyperslab; other dimensions whole).
    public func readRows<T: HDF5Scalar>(_ name: String, rows: Range<Int>, as: T.Type = T.self) throws -> (shape: [Int], values: [T]) {
        HDF5Library.quiet()
        let dset = try openDataset(name)
        defer { H5Dclose(dset) }
        try checkType(dset, name, T.self)
        let full = try datasetShape(dset, name)
        guard !full.isEmpty else { throw HDF5Error(file: file.path, object: fullPath(name), message: "scalar dataset has no rows", stack: []) }
        guard rows.lowerBound >= 0 && rows.upperBound <= full[0] else {
            throw HDF5Error(file: file.path, object: fullPath(name),
                            message: "rows \(rows.lowerBound)..<\(rows.upperBound) outside 0..<\(full[0])", stack: [])
        }
        var shape = full
        shape[0] = rows.count
        var values = [T](repeating: T.hdf5Zero, count: shape.reduce(1, *))
        if values.isEmpty { return (shape, values) }
        try values.withUnsafeMutableBytes { try readHyperslab(dset, name, full: full, rows: rows, into: $0.baseAddress!, T.self) }
        return (shape, values)
    }

    /// Reads rows `rows` of 1-D or N-D dataset `name` into `buffer`, which must hold
    /// exactly `rows.count × (product of the other dimensions)` elements. No allocation.
    public func readRows<T: HDF5Scalar>(_ name: String, rows: Range<Int>, into buffer: UnsafeMutableBufferPointer<T>) throws {
        try HDF5ReadWatch.guarded("\(self.file.path) (\(self.path)/\(name))") {
            HDF5Library.quiet()
            let dset = try openDataset(name)
            defer { H5Dclose(dset) }
            try checkType(dset, name, T.self)
            let full = try datasetShape(dset, name)
            guard !full.isEmpty, rows.lowerBound >= 0, rows.upperBound <= full[0] else {
                throw HDF5Error(file: file.path, object: fullPath(name),
                                message: "rows \(rows.lowerBound)..<\(rows.upperBound) outside the dataset's \(full.first ?? 0) rows", stack: [])
            }
            let need = rows.count * full.dropFirst().reduce(1, *)
            guard buffer.count == need else {
                throw HDF5Error(file: file.path, object: fullPath(name), message: "buffer holds \(buffer.count) elements, rows need \(need)", stack: [])
            }
            if need == 0 { return }
            try readHyperslab(dset, name, full: full, rows: rows, into: UnsafeMutableRawPointer(buffer.baseAddress!), T.self)
        }
    }

    // MARK: helpers

    func openDataset(_ name: String) throws -> hid_t {
        guard contains(name) else { throw HDF5Error(file: file.path, object: fullPath(name), message: "no such dataset", stack: []) }
        let dset = H5Dopen2(id, name, dcft_h5p_default())
        if dset < 0 { throw error(name, "cannot open as a dataset (is it a group?) or its header is corrupted") }
        return dset
    }

    private func datasetShape(_ dset: hid_t, _ name: String) throws -> [Int] {
        let space = H5Dget_space(dset)
        if space < 0 { throw error(name, "cannot read dataspace") }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        if rank < 0 { throw error(name, "cannot read rank") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }

    private func checkType<T: HDF5Scalar>(_ dset: hid_t, _ name: String, _: T.Type) throws {
        let t = H5Dget_type(dset)
        defer { H5Tclose(t) }
        let native = H5Tget_native_type(t, H5T_DIR_DEFAULT)
        defer { if native >= 0 { H5Tclose(native) } }
        if native < 0 || H5Tequal(native, T.hdf5Type) <= 0 {
            throw HDF5Error(file: file.path, object: fullPath(name),
                            message: "dataset holds \(describeType(t)), expected \(T.hdf5TypeName)", stack: [])
        }
    }

    private func readHyperslab<T: HDF5Scalar>(_ dset: hid_t, _ name: String, full: [Int], rows: Range<Int>,
                                                into: UnsafeMutableRawPointer, _: T.Type) throws {
        let fspace = H5Dget_space(dset)
        defer { H5Sclose(fspace) }
        var start = [hsize_t](repeating: 0, count: full.count)
        start[0] = hsize_t(rows.lowerBound)
        var count = full.map { hsize_t($0) }
        count[0] = hsize_t(rows.count)
        if H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nil, count, nil) < 0 {
            throw error(name, "cannot select rows \(rows)")
        }
        let mspace = H5Screate_simple(Int32(count.count), count, nil)
        defer { H5Sclose(mspace) }
        if H5Dread(dset, T.hdf5Type, mspace, fspace, dcft_h5p_default(), into) < 0 {
            throw error(name, "read of rows \(rows.lowerBound)..<\(rows.upperBound) failed (truncated or corrupted data)")
        }
    }
}
