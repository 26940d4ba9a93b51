import CHDF5

/// Element types stored in HDF5 datasets and attributes, with their native HDF5 type.
public protocol HDF5Scalar: Sendable {
    /// The in-memory HDF5 type (H5T_NATIVE_*).
    static var hdf5Type: hid_t { get }
    /// Human name used in error messages, e.g. "float32".
    static var hdf5TypeName: String { get }
    /// The zero value (buffers are allocated zeroed).
    static var hdf5Zero: Self { get }
}

extension Float: HDF5Scalar {
    public static var hdf5Type: hid_t { dcft_h5t_native_float() }
    public static var hdf5TypeName: String { "float32" }
    public static var hdf5Zero: Float { 0 }
}
extension Double: HDF5Scalar {
    public static var hdf5Type: hid_t { dcft_h5t_native_double() }
    public static var hdf5TypeName: String { "float64" }
    public static var hdf5Zero: Double { 0 }
}
extension Int8: HDF5Scalar {
    public static var hdf5Type: hid_t { dcft_h5t_native_int8() }
    public static var hdf5TypeName: String { "int8" }
    public static var hdf5Zero: Int8 { 0 }
}
extension UInt8: HDF5Scalar {
    public static var hdf5Type: hid_t { dcft_h5t_native_uint8() }
    public static var hdf5TypeName: String { "uint8" }
    public static var hdf5Zero: UInt8 { 0 }
}
extension Int32: HDF5Scalar {
    public static var hdf5Type: hid_t { dcft_h5t_native_int32() }
    public static var hdf5TypeName: String { "int32" }
    public static var hdf5Zero: Int32 { 0 }
}
extension Int64: HDF5Scalar {
    public static var hdf5Type: hid_t { dcft_h5t_native_int64() }
    public static var hdf5TypeName: String { "int64" }
    public static var hdf5Zero: Int64 { 0 }
}
extension UInt64: HDF5Scalar {
    public static var hdf5Type: hid_t { dcft_h5t_native_uint64() }
    public static var hdf5TypeName: String { "uint64" }
    public static var hdf5Zero: UInt64 { 0 }
}

/// A readable name ("float32", "int8", "string", ...) for a stored HDF5 type.
func describeType(_ type: hid_t) -> String {
    let size = H5Tget_size(type)
    switch H5Tget_class(type) {
    case H5T_FLOAT: return "float\(size * 8)"
    case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
    case H5T_STRING: return "string"
    case H5T_COMPOUND: return "compound"
    default: return "HDF5 type class \(H5Tget_class(type).rawValue)"
    }
}
