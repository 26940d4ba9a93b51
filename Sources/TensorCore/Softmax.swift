import RealModule

/// Row-wise softmax of scaled scores plus an additive mask, as in self-attention:
/// `y[r, :] = softmax(scale · x[r, :] + mask[r / rowsPerMask, :])`.
///
/// For attention scores `[B, H, L, L]` pass `rows = B·H·L`, `cols = L`,
/// `rowsPerMask = H·L` and a mask `[B, L]` holding 0 for real tokens and a large
/// negative number (or −∞) for padding. A row whose every entry is masked to −∞
/// produces zeros (not NaN).
public enum MaskedSoftmax {
    @inlinable
    public static func forward<T: TensorScalar>(
        x: UnsafePointer<T>, mask: UnsafePointer<T>?, y: UnsafeMutablePointer<T>,
        rows: Int, cols: Int, rowsPerMask: Int = 1, scale: T = 1
    ) {
        precondition(mask == nil || rowsPerMask > 0, "rowsPerMask must be positive")
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            for r in range {
                let xr = x + r * cols, yr = y + r * cols
                var maxv = -T.infinity
                if let mask {
                    let mr = mask + (r / rowsPerMask) * cols
                    for c in 0..<cols { yr[c] = scale * xr[c] + mr[c] }
                } else {
                    for c in 0..<cols { yr[c] = scale * xr[c] }
                }
                for c in 0..<cols { maxv = max(maxv, yr[c]) }
                if maxv == -T.infinity {
                    for c in 0..<cols { yr[c] = 0 }
                    continue
                }
                var sum: T = 0
                if T.self == Float.self {
                    // Vectorisable exp of non-positive arguments (relative error < 3e-7).
                    let yf = UnsafeMutableRawPointer(yr).assumingMemoryBound(to: Float.self)
                    let m = Float(maxv)
                    var sf: Float = 0
                    for c in 0..<cols {
                        let e = FastMath.expNonPositive(yf[c] - m)
                        yf[c] = e
                        sf += e
                    }
                    sum = T(sf)
                } else {
                    for c in 0..<cols {
                        let e = T.exp(yr[c] - maxv)
                        yr[c] = e
                        sum += e
                    }
                }
                let inv = 1 / sum
                for c in 0..<cols { yr[c] *= inv }
            }
        }
    }

    /// `dx[r, c] += scale · y[r, c] · (dy[r, c] − Σ_c' dy[r, c'] · y[r, c'])`, where `y` is
    /// the forward *output*. The mask is constant and gets no gradient.
    @inlinable
    public static func backward<T: TensorScalar>(
        y: UnsafePointer<T>, dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>,
        rows: Int, cols: Int, scale: T = 1
    ) {
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            for r in range {
                let yr = y + r * cols, dyr = dy + r * cols, dxr = dx + r * cols
                var dot: T = 0
                for c in 0..<cols { dot += dyr[c] * yr[c] }
                for c in 0..<cols { dxr[c] += scale * yr[c] * (dyr[c] - dot) }
            }
        }
    }
}
