/// Inverted dropout: each element is kept with probability `1 − p` and scaled by
/// `1 / (1 − p)`, so the expectation is unchanged; at `p = 0` (or in evaluation)
/// it is the identity.
///
/// The keep-mask is drawn in parallel but never depends on the thread count: a call takes
/// one 64-bit draw from the caller's `SeededRNG` as a key, cuts the elements into fixed
/// blocks of `blockSize`, and block `b` draws from its own xoshiro stream `(key, b)`. Each
/// 64-bit draw decides two elements (32 random bits each, kept when ≥ `p · 2³²`).
public enum Dropout {
    /// Elements per independently seeded block (a fixed constant: part of the mask's definition).
    public static let blockSize = 16_384

    /// `y[i] = x[i] · keep[i] / (1 − p)`; writes the mask (1 keep, 0 drop) to `keep`.
    /// `y` may alias `x`. Requires `0 ≤ p < 1`. Advances `rng` by one draw when `p > 0`.
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
        let threshold = UInt32(min((p * 4_294_967_296).rounded(), 4_294_967_295))
        let scale = T(1 / (1 - p))
        let key = rng.next()
        let blocks = (count + blockSize - 1) / blockSize
        Parallel.forRanges(blocks, grain: 1) { range in
            for b in range {
                var g = SeededRNG(seed: key, stream: UInt64(b))
                let lo = b * blockSize, hi = min(count, lo + blockSize)
                var i = lo
                while i < hi {
                    let r = g.next()
                    let k0: UInt8 = UInt32(truncatingIfNeeded: r) >= threshold ? 1 : 0
                    keep[i] = k0
                    y[i] = k0 == 1 ? x[i] * scale : 0
                    if i + 1 < hi {
                        let k1: UInt8 = UInt32(truncatingIfNeeded: r >> 32) >= threshold ? 1 : 0
                        keep[i + 1] = k1
                        y[i + 1] = k1 == 1 ? x[i + 1] * scale : 0
                    }
                    i += 2
                }
            }
        }
    }

    /// `dx[i] += dy[i] · keep[i] / (1 − p)` (`accumulate: false`: `dx[i] = …`).
    @inlinable
    public static func backward<T: TensorScalar>(
        dy: UnsafePointer<T>, keep: UnsafePointer<UInt8>, dx: UnsafeMutablePointer<T>,
        count: Int, p: Double, accumulate: Bool = true
    ) {
        let scale = T(1 / (1 - p))
        Parallel.forRanges(count, grain: 65_536) { range in
            if accumulate {
                for i in range { dx[i] += dy[i] * (scale * T(keep[i])) }
            } else {
                for i in range { dx[i] = dy[i] * (scale * T(keep[i])) }
            }
        }
    }
}
