import TensorCore

/// SIMD kernels for the common geometry: stride = kernel `d` with `d ∈ {1, 2, 4, 8}` and both
/// feature sizes multiples of 8 (every DCFT layer of BERT/MiniLM/DeBERTa shapes).
///
/// With `s = d`, float `t` of a row belongs to subspace index `t / d` and kernel offset `t mod d`;
/// since `d` divides 8, lane `l` of every 8-float chunk has offset `l mod d`. So the strided sums
/// become plain 8-wide multiply-adds against *expanded* vectors `Aexp[t] = A[t/d]`,
/// `Bexp[t] = scale·B[t/d]` (built once per call, `[in]` and `[out]` floats), and per-offset
/// quantities (`u`, `v`, `du`, `dv`, length d) live *tiled* in 8 lanes: lane `l` holds entry `l mod d`.
/// A lane accumulator is folded to offsets by summing the lanes congruent mod d (fixed order).
///
/// For d = 8 this is exactly the arithmetic of the former d = 8 kernel (bit-identical results).
/// The generic loops in `DCFTAdapter.swift` handle every other geometry (overlap `s < d`,
/// `d > 8`, odd sizes). `DCFTAdapterTests` checks both against finite differences.
extension DCFTAdapter {
    /// Whether `forward`/`backward` take the tiled kernels for this adapter.
    var usesTiledKernel: Bool {
        stride == kernel && 8 % kernel == 0 && inFeatures % 8 == 0 && outFeatures % 8 == 0
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Lane `l` of the result = Σ of the lanes of `acc` congruent to `l` mod `d` (d ∈ {1, 2, 4, 8}):
    /// the per-offset sums, tiled.
    @inline(__always)
    static func foldTiled(_ acc: SIMD8<Float>, d: Int) -> SIMD8<Float> {
        if d == 8 { return acc }
        let h = acc.lowHalf + acc.highHalf                       // [4]: offsets mod 4
        if d == 4 { return SIMD8(lowHalf: h, highHalf: h) }
        let q = h.lowHalf + h.highHalf                           // [2]: offsets mod 2
        if d == 2 { return SIMD8(q[0], q[1], q[0], q[1], q[0], q[1], q[0], q[1]) }
        return SIMD8(repeating: q[0] + q[1])
    }

    /// Sum of `d` consecutive floats (`.sum()` of the vector for d = 8, as the former kernel).
    @inline(__always)
    static func groupSum(_ p: UnsafePointer<Float>, d: Int) -> Float {
        if d == 8 { return load8(p).sum() }
        var s: Float = 0
        for t in 0..<d { s += p[t] }
        return s
    }

    /// Calls `body(aExp [in/8 × 8], bExp [out/8 × 8], cTile [d × 8])` with `Aexp[t] = A[t/d]`,
    /// `Bexp[t] = scale·B[t/d]` and row `p` of C tiled (`cTile[p][l] = C[p, l mod d]`).
    func withExpanded<R>(A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                         _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<SIMD8<Float>>) -> R) -> R {
        let d = kernel, inF = inFeatures, outF = outFeatures, scale = scale
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: inF + outF + 8 * d) { buf in
            let aExp = buf.baseAddress!, bExp = aExp + inF, cFlat = bExp + outF
            for t in 0..<inF { aExp[t] = A[t / d] }
            for t in 0..<outF { bExp[t] = scale * B[t / d] }
            for p in 0..<d { for l in 0..<8 { cFlat[8 * p + l] = C[p * d + l % d] } }
            return UnsafeRawPointer(cFlat).withMemoryRebound(to: SIMD8<Float>.self, capacity: d) { cTile in
                body(aExp, bExp, cTile)
            }
        }
    }

    /// Forward (tiled): `u`, `v [rows × d]` saved; `y [rows × out]` += scale·B⊗v (with `bias`:
    /// `y = bias + scale·B⊗v`, no read of `y`).
    func forwardTiled(A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                      x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                      u: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, rows: Int,
                      bias: UnsafePointer<Float>?) {
        let d = kernel, chunksIn = inFeatures / 8, chunksOut = outFeatures / 8, inF = inFeatures, outF = outFeatures
        withExpanded(A: A, B: B, C: C) { aExp, bExp, cTile in
            Parallel.forRanges(rows, grain: 64) { range in
                for n in range {
                    let xr = x + n * inF, yr = y + n * outF
                    var acc = SIMD8<Float>()
                    for k in 0..<chunksIn { acc += Self.load8(aExp + 8 * k) * Self.load8(xr + 8 * k) }
                    let uT = Self.foldTiled(acc, d: d)                     // lane l: u[l mod d]
                    var vT = SIMD8<Float>()                                // lane l: v[l mod d]
                    for p in 0..<d { vT += uT[p] * cTile[p] }
                    for p in 0..<d { u[n * d + p] = uT[p]; v[n * d + p] = vT[p] }
                    if let bias {
                        for k in 0..<chunksOut {
                            Self.store8(Self.load8(bias + 8 * k) + Self.load8(bExp + 8 * k) * vT, yr + 8 * k)
                        }
                    } else {
                        for k in 0..<chunksOut {
                            let yk = yr + 8 * k
                            Self.store8(Self.load8(yk) + Self.load8(bExp + 8 * k) * vT, yk)
                        }
                    }
                }
            }
        }
    }

    /// Backward (tiled) over fixed blocks of `gradientBlockRows` rows; writes `dv`, `du`
    /// `[rows × d]`, accumulates `dx` when non-nil (`overwriteDX`: writes it), and adds the parameter gradients to dA, dB, dC.
    /// Each block keeps lane partials `[out | d × 8 | in]` (dB per output float, dC rows tiled,
    /// dA per input float), so the inner loops have no horizontal sums; they are reduced to
    /// `[nOut | d² | nIn]` at the end, blocks in order.
    func backwardTiled(A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                       dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>,
                       x: UnsafePointer<Float>, u: UnsafePointer<Float>, v: UnsafePointer<Float>,
                       dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, overwriteDX: Bool, rows: Int,
                       dv: UnsafeMutablePointer<Float>, du: UnsafeMutablePointer<Float>, partials: UnsafeMutablePointer<Float>) {
        let d = kernel, nIn = nIn, nOut = nOut, inF = inFeatures, outF = outFeatures, scale = scale
        let chunksIn = inF / 8, chunksOut = outF / 8
        let P = outF + 8 * d + inF, blockRows = Self.gradientBlockRows
        let blocks = (rows + blockRows - 1) / blockRows
        withExpanded(A: A, B: B, C: C) { aExp, bExp, cTile in
            Parallel.forBlocks(rows, blockSize: blockRows) { blk, rowRange in
                let pB = partials + blk * P, pC = pB + outF, pA = pC + 8 * d
                for t in 0..<P { pB[t] = 0 }
                for n in rowRange {
                    let dyr = dy + n * outF, xr = x + n * inF
                    var vT = SIMD8<Float>(), uT = SIMD8<Float>()          // lane l: v[l mod d], u[l mod d]
                    for l in 0..<8 { vT[l] = v[n * d + l % d]; uT[l] = u[n * d + l % d] }
                    var acc = SIMD8<Float>()
                    for k in 0..<chunksOut {
                        let g = Self.load8(dyr + 8 * k)
                        acc += Self.load8(bExp + 8 * k) * g
                        Self.store8(Self.load8(pB + 8 * k) + g * vT, pB + 8 * k)
                    }
                    let dvT = Self.foldTiled(acc, d: d)                   // lane l: dv[l mod d]
                    var duT = SIMD8<Float>()                              // lane l: du[l mod d]
                    for p in 0..<d {
                        let prod = dvT * cTile[p]
                        var s: Float
                        if d == 8 { s = prod.sum() } else { s = 0; for q in 0..<d { s += prod[q] } }
                        duT[p] = s
                        Self.store8(Self.load8(pC + 8 * p) + uT[p] * dvT, pC + 8 * p)
                    }
                    for l in d..<8 { duT[l] = duT[l % d] }
                    for p in 0..<d { dv[n * d + p] = dvT[p]; du[n * d + p] = duT[p] }
                    for k in 0..<chunksIn {
                        Self.store8(Self.load8(pA + 8 * k) + Self.load8(xr + 8 * k) * duT, pA + 8 * k)
                    }
                    if let dx, overwriteDX {
                        let dxr = dx + n * inF
                        for k in 0..<chunksIn { Self.store8(Self.load8(aExp + 8 * k) * duT, dxr + 8 * k) }
                    } else if let dx {
                        let dxr = dx + n * inF
                        for k in 0..<chunksIn {
                            Self.store8(Self.load8(dxr + 8 * k) + Self.load8(aExp + 8 * k) * duT, dxr + 8 * k)
                        }
                    }
                }
            }
        }
        for blk in 0..<blocks {
            let pB = partials + blk * P, pC = pB + outF, pA = pC + 8 * d
            for j in 0..<nOut { dB[j] += scale * Self.groupSum(pB + d * j, d: d) }
            for p in 0..<d { for q in 0..<d { dC[p * d + q] += pC[8 * p + q] } }
            for i in 0..<nIn { dA[i] += Self.groupSum(pA + d * i, d: d) }
        }
    }
}
