import RealModule

/// Hyperbolic tangent (BERT's pooler and RoBERTa's classification head).
public enum Tanh {
    /// `y[i] = tanh(x[i])`. `y` may alias `x`.
    @inlinable
    public static func forward<T: TensorScalar>(x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, count: Int) {
        for i in 0..<count { y[i] = T.tanh(x[i]) }
    }

    /// `dx[i] += dy[i] · (1 − y[i]²)`, where `y` is the forward *output*.
    @inlinable
    public static func backward<T: TensorScalar>(y: UnsafePointer<T>, dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, count: Int) {
        for i in 0..<count { dx[i] += dy[i] * (1 - y[i] * y[i]) }
    }
}
