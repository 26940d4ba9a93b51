import CMPI

/// Element types that travel through MPI collectives.
public protocol MPIScalar: Sendable {
    /// The matching MPI datatype handle.
    static var mpiDatatype: MPI_Datatype { get }
}

extension Float: MPIScalar { public static var mpiDatatype: MPI_Datatype { dcft_mpi_float() } }
extension Double: MPIScalar { public static var mpiDatatype: MPI_Datatype { dcft_mpi_double() } }
extension Int32: MPIScalar { public static var mpiDatatype: MPI_Datatype { dcft_mpi_int32() } }
extension Int64: MPIScalar { public static var mpiDatatype: MPI_Datatype { dcft_mpi_int64() } }
extension UInt8: MPIScalar { public static var mpiDatatype: MPI_Datatype { dcft_mpi_uint8() } }
extension UInt64: MPIScalar { public static var mpiDatatype: MPI_Datatype { dcft_mpi_uint64() } }

/// Reduction operators for `allreduce`.
public enum ReduceOp: Sendable {
    case sum, max, min
    var handle: MPI_Op {
        switch self {
        case .sum: return dcft_mpi_sum()
        case .max: return dcft_mpi_max()
        case .min: return dcft_mpi_min()
        }
    }
}

/// An MPI call that returned an error code (the communicator uses MPI_ERRORS_RETURN).
public struct MPIError: Error, CustomStringConvertible {
    /// The MPI function that failed, e.g. "MPI_Allreduce".
    public let call: String
    public let code: Int32
    /// MPI's own text for the code (MPI_Error_string).
    public let message: String
    public let rank: Int
    public var description: String { "rank \(rank): \(call) failed (code \(code)): \(message)" }
}
