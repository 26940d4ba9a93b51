/// The core of multi-head self-attention, fused per (batch row, head) tile:
///
///     P_bh  = softmax(q_bh·k_bhᵀ · scale + mask_b)     [L × L], kept for backward
///     P'_bh = P_bh · keep_bh / (1 − p)                  [L × L], attention dropout (training)
///     ctx_bh = P'_bh · v_bh                             [L × dh]
///
/// `q`, `k`, `v`, `ctx` (and their gradients) are `[B·L × ld]` activations with head `h` in
/// columns `h·dh ..< (h+1)·dh`, addressed in place (no transposes). `P` is `[B × H × L × L]`.
///
/// Each tile's scores, softmax, dropout and products run back to back on one thread, so the
/// `L × L` tile stays in cache: the unfused sequence (all scores, then all softmax rows, then a
/// dropout pass, then all products) streams `B·H·L²` floats through memory five times forward
/// and six times backward; fused, `P` is written once forward and read once backward, and
/// `P'` and the score gradients never leave a per-thread scratch tile. The dropout mask is
/// drawn first (`Dropout.drawMask`, the same mask `Dropout.forward` would draw), so tiles need
/// not line up with the mask's random blocks. Every gemm is the same single-threaded BLAS call
/// the per-head batched form makes, so results equal the unfused ops bit for bit.
public enum Attention {
    /// Sizes of one call. `ld` is the row stride of q/k/v/ctx (the hidden size `H·dh` when heads
    /// sit side by side in `[rows × h]` activations).
    public struct Shape: Sendable {
        public var batch, heads, length, headSize, ld: Int
        public init(batch: Int, heads: Int, length: Int, headSize: Int, ld: Int) {
            self.batch = batch; self.heads = heads; self.length = length; self.headSize = headSize; self.ld = ld
        }
        var tiles: Int { batch * heads }
        var tileSize: Int { length * length }
    }

    /// Forward. `mask` is the additive key mask `[B × L]` (0 or a large negative number / −∞);
    /// `keep` the dropout mask `[B·H·L·L]` bytes from `Dropout.drawMask` (nil: no dropout).
    /// Writes `probs` (P, before dropout) and overwrites `context`. A fully masked row gives
    /// P = 0 and a zero context row.
    public static func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               mask: UnsafePointer<Float>?, keep: UnsafePointer<UInt8>?, p: Double,
                               probs: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>, shape s: Shape) {
        let L = s.length, dh = s.headSize, ld = s.ld
        let scale = 1 / Float(dh).squareRoot(), keepScale = Float(1 / (1 - p))
        forTiles(s, scratchTiles: keep == nil ? 0 : 1) { t, scratch in
            let b = t / s.heads, off = b * L * ld + (t % s.heads) * dh
            let pt = probs + t * s.tileSize                                      // [L × L]
            Float.blasGemm(transA: false, transB: true, m: L, n: L, k: dh, alpha: 1, a: q + off, lda: ld,
                           b: k + off, ldb: ld, beta: 0, c: pt, ldc: L)
            MaskedSoftmax.forwardRows(x: pt, mask: mask.map { $0 + b * L }, y: pt, rows: 0..<L, cols: L,
                                      rowsPerMask: L, scale: scale)
            var used = UnsafePointer(pt)
            if let keep {                                                        // P' [L × L] in scratch
                let kt = keep + t * s.tileSize
                for i in 0..<s.tileSize { scratch[i] = pt[i] * (keepScale * Float(kt[i])) }
                used = UnsafePointer(scratch)
            }
            Float.blasGemm(transA: false, transB: false, m: L, n: dh, k: L, alpha: 1, a: used, lda: L,
                           b: v + off, ldb: ld, beta: 0, c: context + off, ldc: ld)
        }
    }

    /// Backward of `forward` for `dContext [B·L × ld]`, from the saved `probs` and `keep`
    /// (the same pointers and `p` as the forward). Overwrites `dq`, `dk`, `dv` (their head
    /// columns; every column when `ld = H·dh`):
    ///
    ///     dP' = dctx·vᵀ, dv = P'ᵀ·dctx, dS = softmax′(dropout′(dP')) · scale, dq = dS·k, dk = dSᵀ·q
    public static func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                probs: UnsafePointer<Float>, keep: UnsafePointer<UInt8>?, p: Double,
                                dContext: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
                                dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, shape s: Shape) {
        let L = s.length, dh = s.headSize, ld = s.ld
        let scale = 1 / Float(dh).squareRoot(), keepScale = Float(1 / (1 - p))
        forTiles(s, scratchTiles: keep == nil ? 1 : 2) { t, scratch in
            let off = (t / s.heads) * L * ld + (t % s.heads) * dh
            let pt = probs + t * s.tileSize                                      // P [L × L]
            let dS = scratch                                                     // dP', then dS [L × L]
            var used = pt
            if let keep {                                                        // P' [L × L]
                let kt = keep + t * s.tileSize, pd = scratch + s.tileSize
                for i in 0..<s.tileSize { pd[i] = pt[i] * (keepScale * Float(kt[i])) }
                used = UnsafePointer(pd)
            }
            Float.blasGemm(transA: false, transB: true, m: L, n: L, k: dh, alpha: 1, a: dContext + off, lda: ld,
                           b: v + off, ldb: ld, beta: 0, c: dS, ldc: L)
            Float.blasGemm(transA: true, transB: false, m: L, n: dh, k: L, alpha: 1, a: used, lda: L,
                           b: dContext + off, ldb: ld, beta: 0, c: dv + off, ldc: ld)
            MaskedSoftmax.backwardRows(y: pt, dy: dS, keep: keep.map { $0 + t * s.tileSize }, p: p, dx: dS,
                                       rows: 0..<L, cols: L, scale: scale)
            Float.blasGemm(transA: false, transB: false, m: L, n: dh, k: L, alpha: 1, a: dS, lda: L,
                           b: k + off, ldb: ld, beta: 0, c: dq + off, ldc: ld)
            Float.blasGemm(transA: true, transB: false, m: L, n: dh, k: L, alpha: 1, a: dS, lda: L,
                           b: q + off, ldb: ld, beta: 0, c: dk + off, ldc: ld)
        }
    }

    /// Runs `body(tile, scratch)` for every tile `0 ..< B·H`, contiguous ranges of tiles per
    /// thread, each thread with its own `scratchTiles · L²` floats. BLAS runs single-threaded
    /// inside (restored afterwards), as in `Matmul.gemmBatched2D`.
    static func forTiles(_ s: Shape, scratchTiles: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let count = s.tiles
        if count == 0 { return }
        func run(_ range: Range<Int>) {
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchTiles * s.tileSize))
            defer { scratch.deallocate() }
            for t in range { body(t, scratch) }
        }
        if count >= 2 && Parallel.threads > 1 {
            let saved = BLAS.threads
            if saved != 1 { BLAS.threads = 1 }
            Parallel.forRanges(count, grain: 1, run)
            if saved != 1 { BLAS.threads = saved }
        } else {
            run(0..<count)
        }
    }
}
