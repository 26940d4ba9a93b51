import TensorCore

/// The default geometry, kernel 8 with stride 8, with every length-`d` inner loop as one
/// `SIMD8<Float>` operation (the generic loops have a runtime trip count of 8, which the
/// compiler does not vectorise well). Same math and block structure as the generic paths in
/// `DCFTAdapter.swift`; `DCFTAdapterTests` checks both against finite differences.
extension DCFTAdapter {
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Forward for d = s = 8: `u [rows × 8]`, `v [rows × 8]` saved; `y [rows × out]` += scale·B⊗v.
    func forward8(A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                  x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                  u: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, rows: Int) {
        let nIn = nIn, nOut = nOut, inF = inFeatures, outF = outFeatures, scale = scale
        Parallel.forRanges(rows, grain: 64) { range in
            for n in range {
                let xr = x + n * inF, yr = y + n * outF
                var u8 = SIMD8<Float>()
                for i in 0..<nIn { u8 += A[i] * Self.load8(xr + 8 * i) }
                var v8 = SIMD8<Float>()
                for p in 0..<8 { v8 += u8[p] * Self.load8(C + 8 * p) }
                Self.store8(u8, u + n * 8)
                Self.store8(v8, v + n * 8)
                for j in 0..<nOut {
                    let yj = yr + 8 * j
                    Self.store8(Self.load8(yj) + (scale * B[j]) * v8, yj)
                }
            }
        }
    }

    /// Backward for d = s = 8 over fixed blocks of `gradientBlockRows` rows; writes `dv`, `du`
    /// `[rows × 8]`, accumulates `dx` when non-nil, and adds the parameter gradients to dA, dB, dC.
    /// Each block keeps its partial dB and dA as 8-lane vectors (`[nOut × 8 | 8 × 8 | nIn × 8]`),
    /// so the inner loops have no horizontal sums; lanes and blocks are summed at the end in a
    /// fixed order.
    func backward8(A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                   dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>,
                   x: UnsafePointer<Float>, u: UnsafePointer<Float>, v: UnsafePointer<Float>,
                   dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int,
                   dv: UnsafeMutablePointer<Float>, du: UnsafeMutablePointer<Float>, partials: UnsafeMutablePointer<Float>) {
        let nIn = nIn, nOut = nOut, inF = inFeatures, outF = outFeatures, scale = scale
        let P = 8 * (nOut + nIn) + 64, blockRows = Self.gradientBlockRows
        let blocks = (rows + blockRows - 1) / blockRows
        Parallel.forBlocks(rows, blockSize: blockRows) { blk, rowRange in
            let pB = partials + blk * P, pC = pB + 8 * nOut, pA = pC + 64
            for t in 0..<P { pB[t] = 0 }
            for n in rowRange {
                let dyr = dy + n * outF, xr = x + n * inF
                let v8 = Self.load8(v + n * 8), u8 = Self.load8(u + n * 8)
                var dv8 = SIMD8<Float>()
                for j in 0..<nOut {
                    let g = Self.load8(dyr + 8 * j)
                    dv8 += (scale * B[j]) * g
                    Self.store8(Self.load8(pB + 8 * j) + g * v8, pB + 8 * j)
                }
                var du8 = SIMD8<Float>()
                for p in 0..<8 {
                    du8[p] = (dv8 * Self.load8(C + 8 * p)).sum()
                    Self.store8(Self.load8(pC + 8 * p) + u8[p] * dv8, pC + 8 * p)
                }
                Self.store8(dv8, dv + n * 8)
                Self.store8(du8, du + n * 8)
                for i in 0..<nIn { Self.store8(Self.load8(pA + 8 * i) + Self.load8(xr + 8 * i) * du8, pA + 8 * i) }
                if let dx {
                    let dxr = dx + n * inF
                    for i in 0..<nIn { Self.store8(Self.load8(dxr + 8 * i) + A[i] * du8, dxr + 8 * i) }
                }
            }
        }
        for blk in 0..<blocks {
            let pB = partials + blk * P, pC = pB + 8 * nOut, pA = pC + 64
            for j in 0..<nOut { dB[j] += scale * Self.load8(pB + 8 * j).sum() }
            for t in 0..<64 { dC[t] += pC[t] }
            for i in 0..<nIn { dA[i] += Self.load8(pA + 8 * i).sum() }
        }
    }
}
