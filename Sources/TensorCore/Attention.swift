/// The core of multi-head self-attention, fused per (batch row, head) tile:
///
///     P_bh  = softmax(q_bh·k_bhᵀ · scale + mask_b)     [L × L], kept for backward
///     P'_bh = P_bh · keep_bh / (1 − p)                  [L × L], attention dropout (training)
///     ctx_bh = P'_bh · v_bh                             [L × dh]
///
/// `k`, `v` (and their gradients) are `[B·L × ld]` activations with head `h` in columns
/// `h·dh ..< (h+1)·dh`, addressed in place (no transposes); `q` and `ctx` are `[B·Lq × ld]`, the
/// same with `Lq` query rows per sequence: `Lq = L` (every token attends) or `Lq = 1` (only the
/// first token's row is needed, as in an encoder's last layer under a first-token head).
/// `P` is `[B × H × Lq × L]`; the dropout mask is always the full `[B × H × L × L]` one, of which
/// each tile uses its first `Lq` rows (so `Lq = 1` sees exactly the mask a full pass would).
///
/// Each tile's scores, softmax, dropout and products run back to back on one thread, so the
/// `L × L` tile stays in cache: the unfused sequence (all scores, then all softmax rows, then a
/// dropout pass, then all products) streams `B·H·L²` floats through memory five times forward
/// and six times backward; fused, `P` is written once forward and read once backward, and
/// `P'` and the score gradients never leave a per-thread scratch tile. The dropout mask is
/// drawn first (`Dropout.drawMask`, the same mask `Dropout.forward` would draw), so tiles need
/// not line up with the mask's random blocks. Every gemm is one single-threaded BLAS call per
/// tile, as `Matmul.gemmBatched2D` makes for products below 256³ (every attention shape up to
/// L = 512 with dh = 64), so results equal the unfused ops bit for bit there.
public enum Attention {
    /// Sizes of one call. `ld` is the row stride of q/k/v/ctx (the hidden size `H·dh` when heads
    /// sit side by side in `[rows × h]` activations).
    public struct Shape: Sendable {
        public var batch, heads, length, headSize, ld: Int
        /// Query rows per sequence: `length` (default) or 1.
        public var queries: Int
        public init(batch: Int, heads: Int, length: Int, headSize: Int, ld: Int, queries: Int? = nil) {
            self.batch = batch; self.heads = heads; self.length = length; self.headSize = headSize; self.ld = ld
            self.queries = queries ?? length
            precondition(self.queries == length || self.queries == 1, "queries must be the length or 1")
        }
        var tiles: Int { batch * heads }
        /// Floats of one tile of P: `[Lq × L]`.
        var tileSize: Int { queries * length }
        /// Bytes between tiles of the dropout mask: `L × L`.
        var maskTileStride: Int { length * length }
        /// Offsets of tile `t`'s head in q/ctx and in k/v.
        func offsets(_ t: Int) -> (query: Int, key: Int) {
            let b = t / heads, col = (t % heads) * headSize
            return (b * queries * ld + col, b * length * ld + col)
        }
    }

    /// Forward. `mask` is the additive key mask `[B × L]` (0 or a large negative number / −∞);
    /// `keep` the dropout mask `[B·H·L·L]` bytes from `Dropout.drawMask` (nil: no dropout).
    /// Writes `probs` (P `[B·H·Lq·L]`, before dropout) and overwrites `context [B·Lq × ld]`. A fully masked row gives
    /// P = 0 and a zero context row.
    public static func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               mask: UnsafePointer<Float>?, keep: UnsafePointer<UInt8>?, p: Double,
                               probs: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>, shape s: Shape) {
        let L = s.length, Lq = s.queries, dh = s.headSize, ld = s.ld
        let scale = 1 / Float(dh).squareRoot(), keepScale = Float(1 / (1 - p))
        forTiles(s, scratchTiles: keep == nil ? 0 : 1) { t, scratch in
            let b = t / s.heads, (qOff, kOff) = s.offsets(t)
            let pt = probs + t * s.tileSize                                      // [Lq × L]
            Float.blasGemm(transA: false, transB: true, m: Lq, n: L, k: dh, alpha: 1, a: q + qOff, lda: ld,
                           b: k + kOff, ldb: ld, beta: 0, c: pt, ldc: L)
            MaskedSoftmax.forwardRows(x: pt, mask: mask.map { $0 + b * L }, y: pt, rows: 0..<Lq, cols: L,
                                      rowsPerMask: Lq, scale: scale)
            var used = UnsafePointer(pt)
            if let keep {                                                        // P' [Lq × L] in scratch
                dropped(pt, keep: keep + t * s.maskTileStride, scale: keepScale, into: scratch, count: s.tileSize)
                used = UnsafePointer(scratch)
            }
            Float.blasGemm(transA: false, transB: false, m: Lq, n: dh, k: L, alpha: 1, a: used, lda: L,
                           b: v + kOff, ldb: ld, beta: 0, c: context + qOff, ldc: ld)
        }
    }

    /// Backward of `forward` for `dContext [B·Lq × ld]`, from the saved `probs` and `keep`
    /// (the same pointers and `p` as the forward). Overwrites `dq [B·Lq × ld]`, `dk`, `dv
    /// [B·L × ld]` (their head columns; every column when `ld = H·dh`):
    ///
    ///     dP' = dctx·vᵀ, dv = P'ᵀ·dctx, dS = softmax′(dropout′(dP')) · scale, dq = dS·k, dk = dSᵀ·q
    public static func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                probs: UnsafePointer<Float>, keep: UnsafePointer<UInt8>?, p: Double,
                                dContext: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
                                dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, shape s: Shape) {
        let L = s.length, Lq = s.queries, dh = s.headSize, ld = s.ld
        let scale = 1 / Float(dh).squareRoot(), keepScale = Float(1 / (1 - p))
        forTiles(s, scratchTiles: keep == nil ? 1 : 2) { t, scratch in
            let (qOff, kOff) = s.offsets(t)
            let pt = probs + t * s.tileSize                                      // P [Lq × L]
            let dS = scratch                                                     // dP', then dS [Lq × L]
            let kt = keep.map { $0 + t * s.maskTileStride }
            var used = pt
            if let kt {                                                          // P' [Lq × L]
                let pd = scratch + s.tileSize
                dropped(pt, keep: kt, scale: keepScale, into: pd, count: s.tileSize)
                used = UnsafePointer(pd)
            }
            Float.blasGemm(transA: false, transB: true, m: Lq, n: L, k: dh, alpha: 1, a: dContext + qOff, lda: ld,
                           b: v + kOff, ldb: ld, beta: 0, c: dS, ldc: L)
            Float.blasGemm(transA: true, transB: false, m: L, n: dh, k: Lq, alpha: 1, a: used, lda: L,
                           b: dContext + qOff, ldb: ld, beta: 0, c: dv + kOff, ldc: ld)
            MaskedSoftmax.backwardRows(y: pt, dy: dS, keep: kt, p: p, dx: dS, rows: 0..<Lq, cols: L, scale: scale)
            Float.blasGemm(transA: false, transB: false, m: Lq, n: dh, k: L, alpha: 1, a: dS, lda: L,
                           b: k + kOff, ldb: ld, beta: 0, c: dq + qOff, ldc: ld)
            Float.blasGemm(transA: true, transB: false, m: L, n: dh, k: Lq, alpha: 1, a: dS, lda: L,
                           b: q + qOff, ldb: ld, beta: 0, c: dk + kOff, ldc: ld)
        }
    }

    /// `P' = P · keep · scale` for one tile (as `Dropout.forward` computes it, bit for bit).
    @inline(__always)
    static func dropped(_ p: UnsafePointer<Float>, keep: UnsafePointer<UInt8>, scale: Float,
                        into out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = p[i] * (scale * Float(keep[i])) }
    }

    /// Runs `body(tile, scratch)` for every tile `0 ..< B·H`, contiguous ranges of tiles per
    /// thread, each thread with its own `scratchTiles · Lq·L` floats. BLAS runs single-threaded
    /// inside (`BLAS.forItems`, as `Matmul.gemmBatched2D`).
    static func forTiles(_ s: Shape, scratchTiles: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        BLAS.forItems(s.tiles) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchTiles * s.tileSize))
            defer { scratch.deallocate() }
            for t in range { body(t, scratch) }
        }
    }
}
