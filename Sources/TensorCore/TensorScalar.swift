import COpenBLAS
import RealModule

/// A floating-point element type the kernels run on: `Float` for training,
/// `Double` for finite-difference gradient checks in the tests.
///
/// Conformers supply the BLAS entry points; everything else (erf, exp, sqrt)
/// comes from swift-numerics' `Real`.
public protocol TensorScalar: BinaryFloatingPoint, Real, Sendable {
    /// Row-major `C = alpha · op(A) · op(B) + beta · C` (cblas_?gemm).
    static func blasGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}

@inline(__always)
private func cblasTranspose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Float: TensorScalar {
    @inlinable
    public static func blasGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }
}

extension Double: TensorScalar {
    @inlinable
    public static func blasGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }
}

/// Thread control and identification of the BLAS library in use.
public enum BLAS {
    /// Number of threads OpenBLAS uses for one call (OPENBLAS_NUM_THREADS by default).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
    /// Build configuration string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... MAX_THREADS=64".
    public static var configuration: String { String(cString: openblas_get_config()) }
    /// Core kernel OpenBLAS selected at run time, e.g. "Cooperlake".
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
