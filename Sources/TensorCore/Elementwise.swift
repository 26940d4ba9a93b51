/// Parallel elementwise kernels for the residual connections (memory-bound passes that would
/// otherwise run on one core while the others wait).
public enum Elementwise {
    /// `y[i] += x[i]` for `i < count`. Chunked over threads; every element is independent, so
    /// the result does not depend on the thread count.
    @inlinable
    public static func add<T: TensorScalar>(_ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, count: Int) {
        Parallel.forRanges(count, grain: 65_536) { range in
            for i in range { y[i] += x[i] }
        }
    }
}
