/// The end of a post-LN residual block, fused: hidden dropout on the branch, the residual
/// add and the layer norm in one pass per row (each of the three is a full pass over
/// `[rows × cols]` when run separately), and its backward writing both gradients at once.
extension LayerNorm {
    /// `s = dropout(branch) + residual`, written over `branch` (the input `backwardResidual`
    /// needs), then `y = LN(s)` with `mean`/`rstd [rows]` saved as in `forward`. `keep` is the
    /// `[rows × cols]` byte mask from `Dropout.drawMask` (nil: no dropout, `s = branch + residual`).
    /// Bit for bit `Dropout.forward`, `Elementwise.add`, then `forward` (for finite branch values).
    public static func forwardResidual(
        branch: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, keep: UnsafePointer<UInt8>?, p: Double,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float
    ) {
        let keepScale = Float(1 / (1 - p))
        Parallel.forRanges(rows, grain: max(1, 8_192 / max(cols, 1))) { range in
            for r in range {
                let br = branch + r * cols, rr = residual + r * cols       // [cols]
                if let keep {
                    let kr = keep + r * cols
                    for c in 0..<cols { br[c] = br[c] * (keepScale * Float(kr[c])) + rr[c] }
                } else {
                    for c in 0..<cols { br[c] += rr[c] }
                }
                (mean[r], rstd[r]) = normaliseRow(br, gamma: gamma, beta: beta, y: y + r * cols, cols: cols, eps: eps)
            }
        }
    }

    /// Backward of `forwardResidual` for `dy [rows × cols]`, from the saved `s` (`branch` after
    /// the forward), `mean`, `rstd` and `keep`. Overwrites `dResidual` with `ds` and, when
    /// given, `dBranch` with `ds · keep / (1 − p)` (pass nil without dropout: the branch's
    /// gradient is then `ds` itself). Accumulates `dGamma`/`dBeta` when given (full fine-tuning).
    /// Bit for bit `backward(accumulate: false)` then `Dropout.backward(accumulate: false)`.
    public static func backwardResidual(
        s: UnsafePointer<Float>, gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dResidual: UnsafeMutablePointer<Float>, dBranch: UnsafeMutablePointer<Float>?,
        keep: UnsafePointer<UInt8>?, p: Double,
        dGamma: UnsafeMutablePointer<Float>?, dBeta: UnsafeMutablePointer<Float>?, rows: Int, cols: Int
    ) {
        precondition(dBranch == nil || keep != nil, "dBranch is only written through a dropout mask")
        backwardFloat(x: s, gamma: gamma, mean: mean, rstd: rstd, dy: dy, dx: dResidual, rows: rows, cols: cols,
                      accumulate: false, keep: keep, p: p, dBranch: dBranch)
        parameterGradients(x: s, mean: mean, rstd: rstd, dy: dy, dGamma: dGamma, dBeta: dBeta, rows: rows, cols: cols)
    }
}
