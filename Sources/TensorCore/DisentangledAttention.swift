/// DeBERTa's disentangled self-attention core, fused per (batch row, head) tile like `Attention`:
///
///     S_bh[i, j]  = q_i·k_j + q_i·Kr[δ(i, j)] (c2p) + k_j·Qr[δ(i, j)] (p2c)     [L × L]
///     P_bh        = softmax(S_bh · scale + mask_b),  scale = 1/√(dh · (1 + #position terms))
///     ctx_bh      = dropout(P_bh) · v_bh                                          [L × dh]
///
/// `Kr`, `Qr` are the relative-position embeddings projected by the key and query projections
/// (`share_att_key`) or by their own (`pos_key_proj`, `pos_query_proj`), `[2S × ld]`, and
/// `δ(i, j) = clamp(bucket(i − j) + S, 0, 2S − 1)` (transformers' `c2p_pos`; its `p2c_pos`
/// for the transposed term is the same index because `bucket` is odd). Only the rows
/// `lo ..< lo + W` of `Kr`/`Qr` that some `δ` reaches are passed (`window`), with `index`
/// holding `δ − lo` as `[L × L]` `Int32`.
///
/// Per tile the position terms are two gemms (`q_bh·Kr_hᵀ`, `k_bh·Qr_hᵀ`, `[L × W]`) and a
/// gather into the score tile, exactly as transformers computes them (`bmm` then `gather`);
/// backward scatters the score gradient back (`dC[i, δ] += dS[i, j]`, `dP[j, δ] += dS[i, j]`),
/// adds `dC·Kr_h` to `dq` and `dP·Qr_h` to `dk`, and, when asked, the gradients of `Kr` and `Qr`
/// (`dKr_h = Σ_b dC_bhᵀ·q_bh`, one gemm per head over all batch rows, so the sum has a fixed
/// order whatever the threads).
public enum DisentangledAttention {
    /// Sizes of one call; `q`/`k`/`v`/`ctx` are `[B·L × ld]` with head `h` at columns `h·dh`.
    public struct Shape: Sendable {
        public var batch, heads, length, headSize, ld: Int
        /// Rows of the relative-embedding window (`W`).
        public var window: Int
        /// The content→position (c2p) and position→content (p2c) terms.
        public var contentToPosition: Bool, positionToContent: Bool
        /// `1/√(dh · scaleFactor)`, transformers' `scale_factor = 1 + #terms`.
        public var scale: Float

        public init(batch: Int, heads: Int, length: Int, headSize: Int, ld: Int, window: Int,
                    contentToPosition: Bool, positionToContent: Bool, scaleFactor: Int) {
            self.batch = batch; self.heads = heads; self.length = length; self.headSize = headSize; self.ld = ld
            self.window = window; self.contentToPosition = contentToPosition; self.positionToContent = positionToContent
            scale = 1 / (Float(headSize) * Float(scaleFactor)).squareRoot()
        }
        var tiles: Int { batch * heads }
        func offset(_ t: Int) -> Int { (t / heads) * length * ld + (t % heads) * headSize }
        /// Offset of tile `t`'s `[L × W]` block in the per-head position-gradient layout
        /// `[H × B·L × W]` (head-major, so one gemm per head covers every batch row).
        func positionGradientOffset(_ t: Int) -> Int { ((t % heads) * batch + t / heads) * length * window }
    }

    /// Forward. `posKey`/`posQuery`: the `[W × ld]` window rows of `Kr`/`Qr` (nil when the term
    /// is off); `index`: `δ − lo`, `[L × L]`; `mask`: additive key mask `[B × L]`; `keep`:
    /// dropout mask `[B·H·L·L]` bytes (nil: no dropout). Writes `probs` (`[B·H·L·L]`, before
    /// dropout) and overwrites `context`.
    public static func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               posKey: UnsafePointer<Float>?, posQuery: UnsafePointer<Float>?, index: UnsafePointer<Int32>,
                               mask: UnsafePointer<Float>?, keep: UnsafePointer<UInt8>?, p: Double,
                               probs: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>, shape s: Shape) {
        let L = s.length, W = s.window, dh = s.headSize, ld = s.ld, keepScale = Float(1 / (1 - p))
        let c2p = s.contentToPosition ? posKey : nil, p2c = s.positionToContent ? posQuery : nil
        BLAS.forItems(s.tiles) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * L * W + L * L)
            defer { scratch.deallocate() }
            let cq = scratch, pk = scratch + L * W, dropped = scratch + 2 * L * W
            for t in range {
                let b = t / s.heads, head = t % s.heads, off = s.offset(t), pt = probs + t * L * L
                Float.blasGemm(transA: false, transB: true, m: L, n: L, k: dh, alpha: 1, a: q + off, lda: ld,
                               b: k + off, ldb: ld, beta: 0, c: pt, ldc: L)
                if let c2p {   // C[i, w] = q_i·Kr[lo + w]; S[i, j] += C[i, δ(i, j)]
                    Float.blasGemm(transA: false, transB: true, m: L, n: W, k: dh, alpha: 1, a: q + off, lda: ld,
                                   b: c2p + head * dh, ldb: ld, beta: 0, c: cq, ldc: W)
                    for i in 0..<L {
                        let row = pt + i * L, ix = index + i * L, c = cq + i * W
                        for j in 0..<L { row[j] += c[Int(ix[j])] }
                    }
                }
                if let p2c {   // P[j, w] = k_j·Qr[lo + w]; S[i, j] += P[j, δ(i, j)]
                    Float.blasGemm(transA: false, transB: true, m: L, n: W, k: dh, alpha: 1, a: k + off, lda: ld,
                                   b: p2c + head * dh, ldb: ld, beta: 0, c: pk, ldc: W)
                    for i in 0..<L {
                        let row = pt + i * L, ix = index + i * L
                        for j in 0..<L { row[j] += pk[j * W + Int(ix[j])] }
                    }
                }
                MaskedSoftmax.forwardRows(x: pt, mask: mask.map { $0 + b * L }, y: pt, rows: 0..<L, cols: L,
                                          rowsPerMask: L, scale: s.scale)
                var used = UnsafePointer(pt)
                if let keep {
                    Attention.dropped(pt, keep: keep + t * L * L, scale: keepScale, into: dropped, count: L * L)
                    used = UnsafePointer(dropped)
                }
                Float.blasGemm(transA: false, transB: false, m: L, n: dh, k: L, alpha: 1, a: used, lda: L,
                               b: v + off, ldb: ld, beta: 0, c: context + off, ldc: ld)
            }
        }
    }

    /// Floats of the position-gradient scratch `backward` needs per term: `[H × B·L × W]`.
    public static func positionScratchCount(_ s: Shape) -> Int { s.tiles * s.length * s.window }

    /// Backward of `forward` for `dContext`: overwrites `dq`, `dk`, `dv` (`[B·L × ld]`) and, when
    /// non-nil, `dPosKey`/`dPosQuery` (`[W × ld]`, the gradients of the window rows of `Kr`/`Qr`).
    /// `posGradC`/`posGradP`: scratch of `positionScratchCount` floats for each enabled term.
    public static func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                posKey: UnsafePointer<Float>?, posQuery: UnsafePointer<Float>?, index: UnsafePointer<Int32>,
                                probs: UnsafePointer<Float>, keep: UnsafePointer<UInt8>?, p: Double,
                                dContext: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
                                dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                dPosKey: UnsafeMutablePointer<Float>?, dPosQuery: UnsafeMutablePointer<Float>?,
                                posGradC: UnsafeMutablePointer<Float>?, posGradP: UnsafeMutablePointer<Float>?, shape s: Shape) {
        let L = s.length, W = s.window, dh = s.headSize, ld = s.ld, keepScale = Float(1 / (1 - p))
        let c2p = s.contentToPosition ? posKey : nil, p2c = s.positionToContent ? posQuery : nil
        precondition((c2p == nil || posGradC != nil) && (p2c == nil || posGradP != nil), "position-gradient scratch missing")
        BLAS.forItems(s.tiles) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * L * L)
            defer { scratch.deallocate() }
            for t in range {
                let off = s.offset(t), head = t % s.heads, pt = probs + t * L * L
                let dS = scratch, kt = keep.map { $0 + t * L * L }
                var used = pt
                if let kt {
                    Attention.dropped(pt, keep: kt, scale: keepScale, into: scratch + L * L, count: L * L)
                    used = UnsafePointer(scratch + L * L)
                }
                Float.blasGemm(transA: false, transB: true, m: L, n: L, k: dh, alpha: 1, a: dContext + off, lda: ld,
                               b: v + off, ldb: ld, beta: 0, c: dS, ldc: L)
                Float.blasGemm(transA: true, transB: false, m: L, n: dh, k: L, alpha: 1, a: used, lda: L,
                               b: dContext + off, ldb: ld, beta: 0, c: dv + off, ldc: ld)
                MaskedSoftmax.backwardRows(y: pt, dy: dS, keep: kt, p: p, dx: dS, rows: 0..<L, cols: L, scale: s.scale)
                Float.blasGemm(transA: false, transB: false, m: L, n: dh, k: L, alpha: 1, a: dS, lda: L,
                               b: k + off, ldb: ld, beta: 0, c: dq + off, ldc: ld)
                Float.blasGemm(transA: true, transB: false, m: L, n: dh, k: L, alpha: 1, a: dS, lda: L,
                               b: q + off, ldb: ld, beta: 0, c: dk + off, ldc: ld)
                if let c2p, let posGradC {   // dC[i, δ(i, j)] += dS[i, j]; dq_i += dC[i]·Kr
                    let dC = posGradC + s.positionGradientOffset(t)
                    dC.update(repeating: 0, count: L * W)
                    for i in 0..<L {
                        let row = dS + i * L, ix = index + i * L, c = dC + i * W
                        for j in 0..<L { c[Int(ix[j])] += row[j] }
                    }
                    Float.blasGemm(transA: false, transB: false, m: L, n: dh, k: W, alpha: 1, a: dC, lda: W,
                                   b: c2p + head * dh, ldb: ld, beta: 1, c: dq + off, ldc: ld)
                }
                if let p2c, let posGradP {   // dP[j, δ(i, j)] += dS[i, j]; dk_j += dP[j]·Qr
                    let dP = posGradP + s.positionGradientOffset(t)
                    dP.update(repeating: 0, count: L * W)
                    for i in 0..<L {
                        let row = dS + i * L, ix = index + i * L
                        for j in 0..<L { dP[j * W + Int(ix[j])] += row[j] }
                    }
                    Float.blasGemm(transA: false, transB: false, m: L, n: dh, k: W, alpha: 1, a: dP, lda: W,
                                   b: p2c + head * dh, ldb: ld, beta: 1, c: dk + off, ldc: ld)
                }
            }
        }
        // dKr_h = Σ_b dC_bhᵀ·q_bh, dQr_h = Σ_b dP_bhᵀ·k_bh: per head, one gemm over all B·L rows.
        let rows = s.batch * L
        for (dPos, grad, x) in [(c2p == nil ? nil : dPosKey, posGradC, q), (p2c == nil ? nil : dPosQuery, posGradP, k)] {
            guard let dPos, let grad else { continue }
            BLAS.forItems(s.heads) { range in
                for head in range {
                    Float.blasGemm(transA: true, transB: false, m: W, n: dh, k: rows, alpha: 1,
                                   a: grad + head * rows * W, lda: W, b: x + head * dh, ldb: ld, beta: 0,
                                   c: dPos + head * dh, ldc: ld)
                }
            }
        }
    }
}
