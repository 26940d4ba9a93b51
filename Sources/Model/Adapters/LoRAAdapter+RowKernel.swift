import TensorCore

/// Row-local LoRA kernels for small ranks (r ≤ `rowKernelMaxRank`) without dropout.
///
/// With r = 1…8 the BLAS calls of the general path are degenerate (`n = r` or `k = r`): OpenBLAS
/// packs whole operands and runs its 16 × 4 micro-kernel mostly on padding. Here every row is one
/// pass over `x`, `y` (forward) and `dy`, `x`, `dx` (backward), in parallel over fixed blocks of
/// `gradientBlockRows` rows whose partial `dA`, `dB` are summed in block order (deterministic,
/// independent of the thread count). `B` is used transposed (`Bᵀ [r × out]`, built per call) so
/// every inner loop runs over a contiguous feature dimension.
extension LoRAAdapter {
    /// The largest rank that uses the row kernels.
    public static let rowKernelMaxRank = 8
    /// Rows per block of the parameter-gradient reduction.
    public static let gradientBlockRows = 128

    /// Whether `forward`/`backward` take the row kernels for this call.
    func usesRowKernel(training: Bool) -> Bool { rank <= Self.rowKernelMaxRank && !(training && dropout > 0) }

    /// Floats of `work` that `backward` needs: `dt [rows × r]`, then either the dropped-input
    /// gradient `[rows × in]` (general path with dropout) or `Bᵀ [r × out]` and one partial
    /// `[r × (in + out)]` per block (row kernel).
    public func workCount(rows: Int, training: Bool) -> Int {
        if usesRowKernel(training: training) {
            let blocks = (rows + Self.gradientBlockRows - 1) / Self.gradientBlockRows
            return rows * rank + rank * outFeatures + blocks * rank * (inFeatures + outFeatures)
        }
        return rows * rank + (training && dropout > 0 ? rows * inFeatures : 0)
    }

    /// `Bᵀ [r × out]` from `B [out × r]`.
    static func transposeB(_ B: UnsafePointer<Float>, into bt: UnsafeMutablePointer<Float>, out: Int, r: Int) {
        for o in 0..<out { for k in 0..<r { bt[k * out + o] = B[o * r + k] } }
    }

    /// `t [rows × r] = x·Aᵀ`; `y [rows × out] += scale · t·Bᵀ` (with `bias`: `y = bias + …`, no
    /// read of `y`). `bt` needs `r · out` floats.
    func rowForward(A: UnsafePointer<Float>, B: UnsafePointer<Float>, x: UnsafePointer<Float>,
                    y: UnsafeMutablePointer<Float>, t: UnsafeMutablePointer<Float>, bt: UnsafeMutablePointer<Float>, rows: Int,
                    bias: UnsafePointer<Float>?) {
        let r = rank, inF = inFeatures, outF = outFeatures, scale = scale
        Self.transposeB(B, into: bt, out: outF, r: r)
        Parallel.forRanges(rows, grain: 64) { range in
            for n in range {
                let xr = x + n * inF, yr = y + n * outF, tr = t + n * r
                for k in 0..<r { tr[k] = RowReduce.dot(A + k * inF, xr, inF) }
                for k in 0..<r {
                    let c = scale * tr[k], bk = bt + k * outF
                    if k == 0, let bias {
                        for o in 0..<outF { yr[o] = bias[o] + c * bk[o] }
                    } else {
                        for o in 0..<outF { yr[o] += c * bk[o] }
                    }
                }
            }
        }
    }

    /// Backward of `rowForward` for `dy [rows × out]`: `dt = scale·dy·B`, `dx += dt·A` (when
    /// non-nil; `overwriteDX`: `dx = dt·A`), `dB += scale·dyᵀ·t`, `dA += dtᵀ·x`. `work` as `workCount(rows:training:)`.
    func rowBackward(A: UnsafePointer<Float>, B: UnsafePointer<Float>, dA: UnsafeMutablePointer<Float>,
                     dB: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, t: UnsafePointer<Float>,
                     dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, overwriteDX: Bool, rows: Int,
                     work: UnsafeMutablePointer<Float>) {
        let r = rank, inF = inFeatures, outF = outFeatures, scale = scale
        let blockRows = Self.gradientBlockRows, blocks = (rows + blockRows - 1) / blockRows
        let P = r * (inF + outF)
        let dt = work                               // [rows × r]
        let bt = work + rows * r                    // Bᵀ [r × out]
        let partials = bt + r * outF                // [blocks × (r·out (dBᵀ) + r·in (dA))]
        Self.transposeB(B, into: bt, out: outF, r: r)
        Parallel.forBlocks(rows, blockSize: blockRows) { blk, rowRange in
            let pBt = partials + blk * P, pA = pBt + r * outF
            for i in 0..<P { pBt[i] = 0 }
            for n in rowRange {
                let xr = x + n * inF, dyr = dy + n * outF, tr = t + n * r, dtr = dt + n * r
                for k in 0..<r {
                    dtr[k] = scale * RowReduce.dot(bt + k * outF, dyr, outF)
                    let c = scale * tr[k], pk = pBt + k * outF
                    for o in 0..<outF { pk[o] += c * dyr[o] }
                    let g = dtr[k], ak = pA + k * inF
                    for i in 0..<inF { ak[i] += g * xr[i] }
                }
                if let dx {
                    let dxr = dx + n * inF
                    for k in 0..<r {
                        let g = dtr[k], ak = A + k * inF
                        if k == 0 && overwriteDX {
                            for i in 0..<inF { dxr[i] = g * ak[i] }
                        } else {
                            for i in 0..<inF { dxr[i] += g * ak[i] }
                        }
                    }
                }
            }
        }
        for blk in 0..<blocks {
            let pBt = partials + blk * P, pA = pBt + r * outF
            for o in 0..<outF { for k in 0..<r { dB[o * r + k] += pBt[k * outF + o] } }
            for i in 0..<(r * inF) { dA[i] += pA[i] }
        }
    }
}
