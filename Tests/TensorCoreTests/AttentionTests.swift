import Foundation
import Testing
import TensorCore

/// The fused per-(batch, head) attention against (1) the unfused ops it replaces, bit for bit,
/// and (2) an independent Double implementation written out with loops, plus finite differences.
@Suite("Fused attention")
struct AttentionTests {
    /// Random q, k, v `[B·L × H·dh]`, and an additive key mask `[B × L]`: batch 0 unmasked,
    /// batch 1 with its last three keys padded (−10000, as the model builds it), and batch 2
    /// (when B > 2) fully masked with −∞ (its probabilities and context must be zero, not NaN).
    struct Case {
        let s: Attention.Shape
        let q, k, v, dctx, mask: [Float]
        init(B: Int, H: Int, L: Int, dh: Int, seed: UInt64) {
            s = Attention.Shape(batch: B, heads: H, length: L, headSize: dh, ld: H * dh)
            let n = B * L * H * dh
            q = randomArray(n, seed: seed, scale: 2).map(Float.init)
            k = randomArray(n, seed: seed + 1, scale: 2).map(Float.init)
            v = randomArray(n, seed: seed + 2).map(Float.init)
            dctx = randomArray(n, seed: seed + 3).map(Float.init)
            var m = [Float](repeating: 0, count: B * L)
            if B > 1 { for j in (L - 3)..<L { m[L + j] = -10_000 } }
            if B > 2 { for j in 0..<L { m[2 * L + j] = -.infinity } }
            mask = m
        }
        var pSize: Int { s.batch * s.heads * s.length * s.length }
    }

    @Test("forward and backward equal the unfused per-head gemms, softmax and dropout bit for bit",
          arguments: [0.0, 0.1])
    func equalsUnfused(p: Double) {
        // 3·4·37·37 = 16,428 probabilities: tiles straddle the dropout mask's 16,384-element blocks.
        let c = Case(B: 3, H: 4, L: 37, dh: 8, seed: 70)
        let L = c.s.length, dh = c.s.headSize, H = c.s.heads, B = c.s.batch, ld = c.s.ld, n = c.q.count
        let scale = 1 / Float(dh).squareRoot()
        let act = (L * ld, dh), att = (H * L * L, L * L)

        // Unfused: batched scores, softmax over all rows, a dropout pass, batched context.
        var probs = [Float](repeating: 0, count: c.pSize), dropped = probs, keep = [UInt8](repeating: 0, count: c.pSize)
        var ctx = [Float](repeating: 0, count: n)
        Matmul.gemmBatched2D(transB: true, m: L, n: L, k: dh, a: c.q, lda: ld, strideA: act, b: c.k, ldb: ld, strideB: act,
                             c: &probs, ldc: L, strideC: att, outer: B, inner: H)
        MaskedSoftmax.forward(x: probs, mask: c.mask, y: &probs, rows: B * H * L, cols: L, rowsPerMask: H * L, scale: scale)
        var rng = SeededRNG(seed: 12)
        Dropout.forward(x: probs, y: &dropped, keep: &keep, count: c.pSize, p: p, rng: &rng)
        Matmul.gemmBatched2D(m: L, n: dh, k: L, a: dropped, lda: L, strideA: att, b: c.v, ldb: ld, strideB: act,
                             c: &ctx, ldc: ld, strideC: act, outer: B, inner: H)
        var dpd = [Float](repeating: 0, count: c.pSize), dS = dpd
        var dq = [Float](repeating: 0, count: n), dk = dq, dv = dq
        Matmul.gemmBatched2D(transB: true, m: L, n: L, k: dh, a: c.dctx, lda: ld, strideA: act, b: c.v, ldb: ld, strideB: act,
                             c: &dpd, ldc: L, strideC: att, outer: B, inner: H)
        Matmul.gemmBatched2D(transA: true, m: L, n: dh, k: L, a: dropped, lda: L, strideA: att, b: c.dctx, ldb: ld, strideB: act,
                             c: &dv, ldc: ld, strideC: act, outer: B, inner: H)
        MaskedSoftmax.backwardThroughDropout(y: probs, dyDropped: dpd, keep: keep, p: p, dx: &dS, rows: B * H * L, cols: L, scale: scale)
        Matmul.gemmBatched2D(m: L, n: dh, k: L, a: dS, lda: L, strideA: att, b: c.k, ldb: ld, strideB: act,
                             c: &dq, ldc: ld, strideC: act, outer: B, inner: H)
        Matmul.gemmBatched2D(transA: true, m: L, n: dh, k: L, a: dS, lda: L, strideA: att, b: c.q, ldb: ld, strideB: act,
                             c: &dk, ldc: ld, strideC: act, outer: B, inner: H)

        // Fused, NaN-filled outputs (every element must be written).
        var fKeep = [UInt8](repeating: 7, count: c.pSize)
        var rng2 = SeededRNG(seed: 12)
        Dropout.drawMask(keep: &fKeep, count: c.pSize, p: p, rng: &rng2)
        #expect(fKeep == keep, "drawMask draws forward's mask")
        #expect(rng2.next() == rng.next(), "drawMask advances the RNG as forward does")
        var fProbs = [Float](repeating: .nan, count: c.pSize), fCtx = [Float](repeating: .nan, count: n)
        let keepArg: [UInt8]? = p > 0 ? fKeep : nil
        Attention.forward(q: c.q, k: c.k, v: c.v, mask: c.mask, keep: keepArg, p: p, probs: &fProbs, context: &fCtx, shape: c.s)
        #expect(fProbs.elementsEqual(probs))
        #expect(fCtx.elementsEqual(ctx))
        var fdq = [Float](repeating: .nan, count: n), fdk = fdq, fdv = fdq
        Attention.backward(q: c.q, k: c.k, v: c.v, probs: fProbs, keep: keepArg, p: p, dContext: c.dctx,
                           dq: &fdq, dk: &fdk, dv: &fdv, shape: c.s)
        #expect(fdq.elementsEqual(dq))
        #expect(fdk.elementsEqual(dk))
        #expect(fdv.elementsEqual(dv))
        // The fully masked batch row: zero probabilities and context, finite gradients.
        #expect(fProbs[(2 * H * L * L)...].allSatisfy { $0 == 0 })
        #expect(fCtx[(2 * L * ld)...].allSatisfy { $0 == 0 })
        #expect(fdq.allSatisfy(\.isFinite) && fdk.allSatisfy(\.isFinite))
        if p > 0 { #expect(keep.contains(0) && keep.contains(1)) }
    }

    @Test("one query row per sequence (queries: 1) equals row 0 of every tile of the full computation",
          arguments: [0.0, 0.1])
    func firstQueryOnly(p: Double) {
        let c = Case(B: 3, H: 4, L: 37, dh: 8, seed: 90)
        let L = c.s.length, H = c.s.heads, B = c.s.batch, ld = c.s.ld, n = c.q.count
        var keep = [UInt8](repeating: 0, count: c.pSize)
        var rng = SeededRNG(seed: 21)
        Dropout.drawMask(keep: &keep, count: c.pSize, p: p, rng: &rng)
        let keepArg: [UInt8]? = p > 0 ? keep : nil
        // Full: every query row; its backward from a context gradient that is zero except the first rows.
        var probs = [Float](repeating: 0, count: c.pSize), ctx = [Float](repeating: 0, count: n)
        Attention.forward(q: c.q, k: c.k, v: c.v, mask: c.mask, keep: keepArg, p: p, probs: &probs, context: &ctx, shape: c.s)
        var dctx = [Float](repeating: 0, count: n)
        for b in 0..<B { for j in 0..<ld { dctx[b * L * ld + j] = c.dctx[b * ld + j] } }
        var dq = [Float](repeating: 0, count: n), dk = dq, dv = dq
        Attention.backward(q: c.q, k: c.k, v: c.v, probs: probs, keep: keepArg, p: p, dContext: dctx, dq: &dq, dk: &dk, dv: &dv,
                           shape: c.s)
        // First query row only: q and ctx are [B × ld], P is [B·H × L].
        let s1 = Attention.Shape(batch: B, heads: H, length: L, headSize: c.s.headSize, ld: ld, queries: 1)
        let q1 = (0..<B).flatMap { b in c.q[(b * L * ld)..<(b * L * ld + ld)] }
        var probs1 = [Float](repeating: .nan, count: B * H * L), ctx1 = [Float](repeating: .nan, count: B * ld)
        Attention.forward(q: q1, k: c.k, v: c.v, mask: c.mask, keep: keepArg, p: p, probs: &probs1, context: &ctx1, shape: s1)
        let wantP = (0..<(B * H)).flatMap { t in probs[(t * L * L)..<(t * L * L + L)] }
        let wantCtx = (0..<B).flatMap { b in ctx[(b * L * ld)..<(b * L * ld + ld)] }
        expectClose(probs1, wantP, rtol: 1e-5, atol: 1e-7, "P row 0")
        expectClose(ctx1, wantCtx, rtol: 1e-5, atol: 1e-6, "context row 0")
        var dq1 = [Float](repeating: .nan, count: B * ld), dk1 = [Float](repeating: .nan, count: n), dv1 = dk1
        Attention.backward(q: q1, k: c.k, v: c.v, probs: probs1, keep: keepArg, p: p, dContext: Array(c.dctx[0..<(B * ld)]),
                           dq: &dq1, dk: &dk1, dv: &dv1, shape: s1)
        expectClose(dq1, (0..<B).flatMap { b in dq[(b * L * ld)..<(b * L * ld + ld)] }, rtol: 1e-5, atol: 1e-6, "dq row 0")
        expectClose(dk1, dk, rtol: 1e-5, atol: 1e-6, "dk")
        expectClose(dv1, dv, rtol: 1e-5, atol: 1e-6, "dv")
        #expect(dk.contains { $0 != 0 } && dv.contains { $0 != 0 })
    }

    /// Attention written out in Double with loops: `ctx = (softmax(q·kᵀ·scale + mask) ⊙ keep/(1−p))·v`.
    static func reference(_ c: Case, q: [Double], k: [Double], v: [Double], keep: [UInt8]?, p: Double) -> [Double] {
        let B = c.s.batch, H = c.s.heads, L = c.s.length, dh = c.s.headSize, ld = c.s.ld
        let scale = 1 / Double(dh).squareRoot()
        var ctx = [Double](repeating: 0, count: q.count)
        for b in 0..<B { for h in 0..<H { for i in 0..<L {
            var s = (0..<L).map { j -> Double in
                var dot = 0.0
                for e in 0..<dh { dot += q[(b * L + i) * ld + h * dh + e] * k[(b * L + j) * ld + h * dh + e] }
                return dot * scale + Double(c.mask[b * L + j])
            }
            let m = s.max()!
            if m == -.infinity { continue }
            s = s.map { exp($0 - m) }
            let z = s.reduce(0, +)
            for j in 0..<L {
                var pij = s[j] / z
                if let keep { pij *= Double(keep[((b * H + h) * L + i) * L + j]) / (1 - p) }
                for e in 0..<dh { ctx[(b * L + i) * ld + h * dh + e] += pij * v[(b * L + j) * ld + h * dh + e] }
            }
        } } }
        return ctx
    }

    @Test("forward matches a Double loop implementation; backward matches its finite differences",
          arguments: [0.0, 0.3])
    func againstReference(p: Double) {
        let c = Case(B: 2, H: 2, L: 5, dh: 3, seed: 80)
        var keep = [UInt8](repeating: 0, count: c.pSize)
        var rng = SeededRNG(seed: 3)
        Dropout.drawMask(keep: &keep, count: c.pSize, p: p, rng: &rng)
        let keepArg: [UInt8]? = p > 0 ? keep : nil
        var probs = [Float](repeating: 0, count: c.pSize), ctx = [Float](repeating: 0, count: c.q.count)
        Attention.forward(q: c.q, k: c.k, v: c.v, mask: c.mask, keep: keepArg, p: p, probs: &probs, context: &ctx, shape: c.s)
        let qd = c.q.map(Double.init), kd = c.k.map(Double.init), vd = c.v.map(Double.init), g = c.dctx.map(Double.init)
        expectClose(ctx.map(Double.init), Self.reference(c, q: qd, k: kd, v: vd, keep: keepArg, p: p),
                    rtol: 1e-5, atol: 1e-6, "context")
        var dq = [Float](repeating: 0, count: c.q.count), dk = dq, dv = dq
        Attention.backward(q: c.q, k: c.k, v: c.v, probs: probs, keep: keepArg, p: p, dContext: c.dctx,
                           dq: &dq, dk: &dk, dv: &dv, shape: c.s)
        let numQ = numericGradient(qd) { weightedSum(Self.reference(c, q: $0, k: kd, v: vd, keep: keepArg, p: p), g) }
        let numK = numericGradient(kd) { weightedSum(Self.reference(c, q: qd, k: $0, v: vd, keep: keepArg, p: p), g) }
        let numV = numericGradient(vd) { weightedSum(Self.reference(c, q: qd, k: kd, v: $0, keep: keepArg, p: p), g) }
        expectClose(dq.map(Double.init), numQ, rtol: 1e-3, atol: 1e-5, "dq")
        expectClose(dk.map(Double.init), numK, rtol: 1e-3, atol: 1e-5, "dk")
        expectClose(dv.map(Double.init), numV, rtol: 1e-3, atol: 1e-5, "dv")
        if p > 0 { #expect(keep.contains(0) && keep.contains(1)) }
    }
}
