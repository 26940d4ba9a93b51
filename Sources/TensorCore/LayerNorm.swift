import RealModule

/// Layer normalisation over the last dimension:
/// `y = (x − μ) / √(σ² + eps) · γ + β`, with the biased variance (as PyTorch).
public enum LayerNorm {
    /// Normalises each of `rows` rows of width `cols`. Saves the per-row mean and
    /// reciprocal standard deviation (`[rows]` each) for the backward pass.
    @inlinable
    public static func forward<T: TensorScalar>(
        x: UnsafePointer<T>, gamma: UnsafePointer<T>, beta: UnsafePointer<T>,
        y: UnsafeMutablePointer<T>, mean: UnsafeMutablePointer<T>, rstd: UnsafeMutablePointer<T>,
        rows: Int, cols: Int, eps: T
    ) {
        if T.self == Float.self {
            func f(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
            func f(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
                UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
            }
            return forwardFloat(x: f(x), gamma: f(gamma), beta: f(beta), y: f(y), mean: f(mean), rstd: f(rstd),
                                rows: rows, cols: cols, eps: Float(eps))
        }
        let n = T(cols)
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            for r in range {
                let xr = x + r * cols, yr = y + r * cols
                var s: T = 0
                for c in 0..<cols { s += xr[c] }
                let mu = s / n
                var v: T = 0
                for c in 0..<cols { let d = xr[c] - mu; v += d * d }
                let rs = 1 / T.sqrt(v / n + eps)
                for c in 0..<cols { yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c] }
                mean[r] = mu
                rstd[r] = rs
            }
        }
    }

    /// The Float forward with `RowReduce` sums; `y` holds `x − μ` between the passes.
    @usableFromInline
    static func forwardFloat(x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                             y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                             rows: Int, cols: Int, eps: Float) {
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            for r in range {
                (mean[r], rstd[r]) = normaliseRow(x + r * cols, gamma: gamma, beta: beta, y: y + r * cols, cols: cols, eps: eps)
            }
        }
    }

    /// One Float row: `y = (x − μ)·rstd·γ + β`, returning `(μ, rstd)`; `y` holds `x − μ` between passes.
    @inline(__always) @usableFromInline
    static func normaliseRow(_ xr: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                             y yr: UnsafeMutablePointer<Float>, cols: Int, eps: Float) -> (Float, Float) {
        let n = Float(cols)
        let mu = RowReduce.sum(xr, cols) / n
        for c in 0..<cols { yr[c] = xr[c] - mu }
        let rs = 1 / (RowReduce.dot(yr, yr, cols) / n + eps).squareRoot()
        for c in 0..<cols { yr[c] = yr[c] * rs * gamma[c] + beta[c] }
        return (mu, rs)
    }

    /// Accumulates `dx` (`accumulate: false`: overwrites it), and `dGamma`/`dBeta` when given
    /// (nil for a frozen norm).
    ///
    /// With `x̂ = (x − μ)·rstd` and `g = dy·γ`:
    /// `dx = rstd · (g − mean(g) − x̂ · mean(g · x̂))`, `dγ += Σ_rows dy·x̂`, `dβ += Σ_rows dy`.
    /// Parameter gradients are summed over rows in order (deterministic).
    @inlinable
    public static func backward<T: TensorScalar>(
        x: UnsafePointer<T>, gamma: UnsafePointer<T>, mean: UnsafePointer<T>, rstd: UnsafePointer<T>,
        dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?,
        dGamma: UnsafeMutablePointer<T>?, dBeta: UnsafeMutablePointer<T>?,
        rows: Int, cols: Int, accumulate: Bool = true
    ) {
        let n = T(cols)
        if let dx, T.self == Float.self {
            func f(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
            backwardFloat(x: f(x), gamma: f(gamma), mean: f(mean), rstd: f(rstd), dy: f(dy),
                          dx: UnsafeMutableRawPointer(dx).assumingMemoryBound(to: Float.self),
                          rows: rows, cols: cols, accumulate: accumulate)
        } else if let dx {
            Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
                for r in range {
                    let xr = x + r * cols, dyr = dy + r * cols, dxr = dx + r * cols
                    let mu = mean[r], rs = rstd[r]
                    var sg: T = 0, sgx: T = 0
                    for c in 0..<cols {
                        let g = dyr[c] * gamma[c]
                        sg += g
                        sgx += g * (xr[c] - mu) * rs
                    }
                    let mg = sg / n, mgx = sgx / n
                    for c in 0..<cols {
                        let xh = (xr[c] - mu) * rs
                        let v = rs * (dyr[c] * gamma[c] - mg - xh * mgx)
                        if accumulate { dxr[c] += v } else { dxr[c] = v }
                    }
                }
            }
        }
        parameterGradients(x: x, mean: mean, rstd: rstd, dy: dy, dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
    }

    /// `dγ += Σ_rows dy·x̂`, `dβ += Σ_rows dy` (either may be nil), rows summed in order.
    @inlinable
    static func parameterGradients<T: TensorScalar>(
        x: UnsafePointer<T>, mean: UnsafePointer<T>, rstd: UnsafePointer<T>, dy: UnsafePointer<T>,
        dGamma: UnsafeMutablePointer<T>?, dBeta: UnsafeMutablePointer<T>?, rows: Int, cols: Int
    ) {
        if dGamma == nil && dBeta == nil { return }
        for r in 0..<rows {
            let xr = x + r * cols, dyr = dy + r * cols
            let mu = mean[r], rs = rstd[r]
            if let dGamma { for c in 0..<cols { dGamma[c] += dyr[c] * (xr[c] - mu) * rs } }
            if let dBeta { for c in 0..<cols { dBeta[c] += dyr[c] } }
        }
    }

    /// The Float `dx` pass: `g = dy·γ` and `x̂` go to two row-sized scratch vectors so both
    /// means are `RowReduce` sums (vectorised, fixed order); the rest is elementwise.
    @usableFromInline
    static func backwardFloat(x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                              rstd: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                              rows: Int, cols: Int, accumulate: Bool,
                              keep: UnsafePointer<UInt8>? = nil, p: Double = 0, dBranch: UnsafeMutablePointer<Float>? = nil) {
        let n = Float(cols), keepScale = Float(1 / (1 - p))
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * cols) { tmp in
                let g = tmp.baseAddress!, xh = g + cols          // [cols] each
                for r in range {
                    let xr = x + r * cols, dyr = dy + r * cols, dxr = dx + r * cols
                    let mu = mean[r], rs = rstd[r]
                    for c in 0..<cols { g[c] = dyr[c] * gamma[c]; xh[c] = (xr[c] - mu) * rs }
                    let mg = RowReduce.sum(g, cols) / n, mgx = RowReduce.dot(g, xh, cols) / n
                    if accumulate {
                        for c in 0..<cols { dxr[c] += rs * (g[c] - mg - xh[c] * mgx) }
                    } else {
                        for c in 0..<cols { dxr[c] = rs * (g[c] - mg - xh[c] * mgx) }
                    }
                    if let dBranch, let keep {  // the dropout branch of s = dropout(branch) + residual
                        let dbr = dBranch + r * cols, kr = keep + r * cols
                        for c in 0..<cols { dbr[c] = dxr[c] * (keepScale * Float(kr[c])) }
                    }
                }
            }
        }
    }
}
