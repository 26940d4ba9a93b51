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
        if T.self == Float.self {
            return forwardFloat(x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                                mask: mask.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) },
                                y: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self),
                                rows: rows, cols: cols, rowsPerMask: rowsPerMask, scale: Float(scale))
        }
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
                for c in 0..<cols {
                    let e = T.exp(yr[c] - maxv)
                    yr[c] = e
                    sum += e
                }
                let inv = 1 / sum
                for c in 0..<cols { yr[c] *= inv }
            }
        }
    }

    /// The Float forward: every pass over a row is either an elementwise loop the compiler
    /// vectorises (scale + mask, `FastMath.expNonPositive`, normalise) or a `RowReduce`.
    @usableFromInline
    static func forwardFloat(x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                             rows: Int, cols: Int, rowsPerMask: Int, scale: Float) {
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            forwardRows(x: x, mask: mask, y: y, rows: range, cols: cols, rowsPerMask: rowsPerMask, scale: scale)
        }
    }

    /// The Float forward of rows `rows` on the calling thread (row `r` reads mask row
    /// `r / rowsPerMask`); `y` may alias `x`. The fused attention tiles call it per head.
    public static func forwardRows(x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                   rows: Range<Int>, cols: Int, rowsPerMask: Int, scale: Float) {
        for r in rows {
            let xr = x + r * cols, yr = y + r * cols
            if let mask {
                let mr = mask + (r / rowsPerMask) * cols
                for c in 0..<cols { yr[c] = scale * xr[c] + mr[c] }
            } else {
                for c in 0..<cols { yr[c] = scale * xr[c] }
            }
            let m = RowReduce.max(yr, cols)
            if m == -.infinity {
                for c in 0..<cols { yr[c] = 0 }
                continue
            }
            // Relative error < 3e-7; exactly 0 (never subnormal) below e^−87.
            for c in 0..<cols { yr[c] = FastMath.expNonPositive(yr[c] - m) }
            let inv = 1 / RowReduce.sum(yr, cols)
            for c in 0..<cols { yr[c] *= inv }
        }
    }

    /// `dx[r, c] += scale · y[r, c] · (dy[r, c] − Σ_c' dy[r, c'] · y[r, c'])`, where `y` is
    /// the forward *output*. The mask is constant and gets no gradient. `accumulate: false`
    /// overwrites `dx` (no need to zero it first).
    @inlinable
    public static func backward<T: TensorScalar>(
        y: UnsafePointer<T>, dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>,
        rows: Int, cols: Int, scale: T = 1, accumulate: Bool = true
    ) {
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            for r in range {
                let yr = y + r * cols, dyr = dy + r * cols, dxr = dx + r * cols
                var dot: T = 0
                if T.self == Float.self {
                    dot = T(RowReduce.dot(UnsafeRawPointer(yr).assumingMemoryBound(to: Float.self),
                                          UnsafeRawPointer(dyr).assumingMemoryBound(to: Float.self), cols))
                } else {
                    for c in 0..<cols { dot += dyr[c] * yr[c] }
                }
                if accumulate {
                    for c in 0..<cols { dxr[c] += scale * yr[c] * (dyr[c] - dot) }
                } else {
                    for c in 0..<cols { dxr[c] = scale * yr[c] * (dyr[c] - dot) }
                }
            }
        }
    }

    /// `backward` with the attention dropout that follows the softmax folded in: `dyDropped` is
    /// the gradient of `dropout(y)`, so each row's `dy = dyDropped · keep / (1 − p)` is formed in
    /// `dx` itself (no separate pass over, or buffer for, `B·H·L·L` floats), then
    /// `dx = scale · y · (dy − Σ dy·y)`. Overwrites `dx`; bit for bit `Dropout.backward`
    /// followed by `backward(accumulate: false)`.
    public static func backwardThroughDropout(
        y: UnsafePointer<Float>, dyDropped: UnsafePointer<Float>, keep: UnsafePointer<UInt8>, p: Double,
        dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int, scale: Float = 1
    ) {
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            backwardRows(y: y, dy: dyDropped, keep: keep, p: p, dx: dx, rows: range, cols: cols, scale: scale)
        }
    }

    /// The Float backward of rows `rows` on the calling thread, overwriting `dx` (which may
    /// alias `dy`): through dropout when `keep` is given (as `backwardThroughDropout`), else
    /// plain (as `backward(accumulate: false)`), bit for bit.
    public static func backwardRows(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, keep: UnsafePointer<UInt8>?, p: Double,
                                    dx: UnsafeMutablePointer<Float>, rows: Range<Int>, cols: Int, scale: Float) {
        let keepScale = Float(1 / (1 - p))
        for r in rows {
            let yr = y + r * cols, dyr = dy + r * cols, dxr = dx + r * cols
            if let keep {
                let kr = keep + r * cols
                for c in 0..<cols { dxr[c] = dyr[c] * (keepScale * Float(kr[c])) }
                let dot = RowReduce.dot(yr, dxr, cols)
                for c in 0..<cols { dxr[c] = scale * yr[c] * (dxr[c] - dot) }
            } else {
                let dot = RowReduce.dot(yr, dyr, cols)
                for c in 0..<cols { dxr[c] = scale * yr[c] * (dyr[c] - dot) }
            }
        }
    }
}
