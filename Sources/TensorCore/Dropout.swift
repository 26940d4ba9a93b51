/// Inverted dropout: each element is kept with probability `1 − p` and scaled by
/// `1 / (1 − p)`, so the expectation is unchanged; at `p = 0` (or in evaluation)
/// it is the identity. The keep-mask is drawn serially from a `SeededRNG`, so
/// it depends only on the generator state, never on the thread count.
public enum Dropout {
    /// `y[i] = x[i] · keep[i] / (1 − p)`; writes the mask (1 keep, 0 drop) to `keep`.
    /// `y` may alias `x`. Requires `0 ≤ p < 1`.
    @inlinable
    public static func forward<T: TensorScalar>(
        x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, keep: UnsafeMutablePointer<UInt8>,
        count: Int, p: Double, rng: inout SeededRNG
    ) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        if p == 0 {
            for i in 0..<count { keep[i] = 1; y[i] = x[i] }
            return
        }
        let threshold = Float(p)
        let scale = T(1 / (1 - p))
        for i in 0..<count {
            let k: UInt8 = rng.nextUnitFloat() >= threshold ? 1 : 0
            keep[i] = k
            y[i] = k == 1 ? x[i] * scale : 0
        }
    }

    /// `dx[i] += dy[i] · keep[i] / (1 − p)`.
    @inlinable
    public static func backward<T: TensorScalar>(
        dy: UnsafePointer<T>, keep: UnsafePointer<UInt8>, dx: UnsafeMutablePointer<T>,
        count: Int, p: Double
    ) {
        let scale = T(1 / (1 - p))
        Parallel.forRanges(count, grain: 65_536) { range in
            for i in range where keep[i] != 0 { dx[i] += dy[i] * scale }
        }
    }
}
