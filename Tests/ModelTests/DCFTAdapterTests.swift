import Testing
import Foundation
import TensorCore
@testable import Model

@Suite("DCFT adapter")
struct DCFTAdapterTests {
    /// A store holding one adapter of the given shape with random A, B, C.
    func adapter(inF: Int, outF: Int, d: Int, s: Int) -> (ParameterStore, DCFTAdapter) {
        let store = ParameterStore()
        let a = DCFTAdapter(store: store, prefix: "m", inFeatures: inF, outFeatures: outF, options: DCFTOptions(kernel: d, stride: s, alpha: 16))
        store.allocate()
        var rng = SeededRNG(seed: UInt64(inF * 31 + outF * 7 + d + s))
        a.initialize(store: store, std: 0.5, rng: &rng)
        return (store, a)
    }

    @Test("materialised M follows the transposed-convolution formula M[s·i+p, s·j+q] = Σ A[i]·B[j]·C[p,q]")
    func materializeByHand() {
        let (store, a) = adapter(inF: 4, outF: 6, d: 2, s: 2)
        store.set("m.dcft_A", [1, 2]); store.set("m.dcft_B", [1, -1, 3]); store.set("m.dcft_C", [1, 2, 3, 4])
        let m = a.materialize(store: store)
        // kron([[1,-1,3],[2,-2,6]], [[1,2],[3,4]]), row-major 4 × 6.
        let expected: [Float] = [1, 2, -1, -2, 3, 6,
                                 3, 4, -3, -4, 9, 12,
                                 2, 4, -2, -4, 6, 12,
                                 6, 8, -6, -8, 18, 24]
        #expect(m == expected)
        // Overlapping kernels (d = 2, s = 1): entries where kernels overlap add up.
        let (st2, b) = adapter(inF: 3, outF: 3, d: 2, s: 1)
        st2.set("m.dcft_A", [1, 1]); st2.set("m.dcft_B", [1, 1]); st2.set("m.dcft_C", [1, 1, 1, 1])
        #expect(b.materialize(store: st2) == [1, 2, 1, 2, 4, 2, 1, 2, 1])
    }

    @Test("structured forward equals x·M; backward matches finite differences of the materialised form",
          arguments: [(16, 24, 8, 8, 5), (40, 72, 8, 8, 5), (12, 10, 2, 2, 5), (20, 12, 4, 2, 5), (9, 7, 3, 1, 5),
                      (16, 24, 8, 8, 2 * DCFTAdapter.gradientBlockRows + 3),  // several gradient blocks
                      // tiled kernels for d ∈ {1, 2, 4} (sizes multiples of 8), one with several blocks
                      (16, 24, 2, 2, 5), (32, 16, 4, 4, 5), (8, 16, 1, 1, 5), (24, 40, 2, 2, DCFTAdapter.gradientBlockRows + 7)])
    func structuredMatchesMaterialised(inF: Int, outF: Int, d: Int, s: Int, rows: Int) throws {
        let (store, a) = adapter(inF: inF, outF: outF, d: d, s: s)
        #expect(a.usesTiledKernel == (s == d && 8 % d == 0 && inF % 8 == 0 && outF % 8 == 0))
        var rng = SeededRNG(seed: 9)
        let x = (0..<rows * inF).map { _ in Float(rng.nextNormal()) }
        let g = (0..<rows * outF).map { _ in Float(rng.nextNormal()) }
        var y = [Float](repeating: 0, count: rows * outF)
        var u = [Float](repeating: 0, count: rows * d), v = u
        a.forward(store: store, x: x, y: &y, u: &u, v: &v, rows: rows)
        let m = a.materialize(store: store)
        var ref = [Float](repeating: 0, count: rows * outF)
        Matmul.gemm(m: rows, n: outF, k: inF, alpha: a.scale, a: x, lda: inF, b: m, ldb: outF, c: &ref, ldc: outF)
        for i in 0..<y.count { #expect(abs(y[i] - ref[i]) <= 1e-4 * max(1, abs(ref[i])), "y[\(i)]") }

        // Backward against finite differences (Double) of L = Σ g · (scale · x·M(A,B,C)).
        var dx = [Float](repeating: 0, count: rows * inF), work = [Float](repeating: 0, count: a.workCount(rows: rows))
        store.gradients.zero()
        a.backward(store: store, x: x, u: u, v: v, dy: g, dx: &dx, rows: rows, work: &work)
        let A = store.get("m.dcft_A").map(Double.init), B = store.get("m.dcft_B").map(Double.init), C = store.get("m.dcft_C").map(Double.init)
        let xd = x.map(Double.init), gd = g.map(Double.init), scale = Double(a.scale)
        func lossD(_ A: [Double], _ B: [Double], _ C: [Double], _ x: [Double]) -> Double {
            var total = 0.0
            for n in 0..<rows { for i in 0..<a.nIn { for p in 0..<d { for j in 0..<a.nOut { for q in 0..<d {
                total += x[n * inF + s * i + p] * A[i] * B[j] * C[p * d + q] * gd[n * outF + s * j + q]
            } } } } }
            return scale * total
        }
        func check(_ got: [Float], _ want: [Double], _ what: String) {
            let mx = want.map(abs).max() ?? 1
            for i in 0..<got.count { #expect(abs(Double(got[i]) - want[i]) <= 1e-4 * mx + 1e-6, "\(what)[\(i)] \(got[i]) vs \(want[i])") }
        }
        check(store.getGradient("m.dcft_A")!, numericGradientD(A) { lossD($0, B, C, xd) }, "dA")
        check(store.getGradient("m.dcft_B")!, numericGradientD(B) { lossD(A, $0, C, xd) }, "dB")
        check(store.getGradient("m.dcft_C")!, numericGradientD(C) { lossD(A, B, $0, xd) }, "dC")
        check(dx, numericGradientD(xd) { lossD(A, B, C, $0) }, "dx")
    }

    @Test("merge adds scale·Mᵀ to W0, as the golden's merged query weight shows")
    func mergeMatchesGolden() throws {
        let g = try Golden("bert-dcft-d8")
        let model = try goldenModel(g)
        let merged = model.layers[0].query.mergedWeight(store: model.store)
        expectTensorClose(merged, g.floats("merged_layer0_query"), rtol: 1e-5, atolScale: 1e-6, "merged query")
    }

    @Test("parameter counts reproduce the paper: 12 layers, h 768, f 3072 → 25,344 at d=8 and 83,232 at d=2",
          arguments: [(8, 25_344), (2, 83_232)])
    func paperCounts(d: Int, expected: Int) throws {
        let cfg = EncoderConfig(architecture: .bert, vocabSize: 1, hiddenSize: 768, numLayers: 12, numHeads: 12,
                                intermediateSize: 3072, maxPositions: 1, typeVocabSize: 1)
        let model = try SequenceClassifier(config: cfg, options: ModelOptions(adapter: DCFTOptions(kernel: d), numLabels: 2))
        let adapterCount = model.adapters(of: DCFTAdapter.self).reduce(0) { $0 + $1.parameterCount }
        #expect(adapterCount == expected)
        // Per-layer formula of docs/DESIGN.md §2: 4·(2h/d + d²) + 2·(h/d + f/d + d²).
        let perLayer = 4 * (2 * 768 / d + d * d) + 2 * (768 / d + 3072 / d + d * d)
        #expect(12 * perLayer == expected)
        // The flat trainable buffer holds exactly the adapters plus the head (pooler + classifier).
        let head = (768 * 768 + 768) + (2 * 768 + 2)  // pooler + classifier
        #expect(model.store.trainableParameterCount == expected + head)
        #expect(model.adapters(of: DCFTAdapter.self).count == 72)
    }

    @Test("the orthogonality penalties: reference mean |‖v‖²−1| and paper Σ(‖v‖²−1)², with gradients")
    func orthogonality() {
        let (store, a) = adapter(inF: 16, outF: 16, d: 8, s: 8)
        store.set("m.dcft_A", [2, 0]); store.set("m.dcft_B", [0.5, 0.5])  // ‖A‖² = 4, ‖B‖² = 0.5
        store.gradients.zero()
        let r = OrthogonalityPenalty.reference.apply(store: store, vectors: a.orthogonalVectors, gamma: 0.1)
        #expect(abs(r - 0.175) < 1e-7)  // 0.1·(|4−1| + |0.5−1|)/2
        let gA: [Float] = [0.2, 0]       // γ·sign(‖A‖²−1)·2A/count = 0.1·1·2·[2,0]/2
        let gB: [Float] = [-0.05, -0.05] // 0.1·(−1)·2·[0.5,0.5]/2
        #expect(store.getGradient("m.dcft_A") == gA)
        #expect(store.getGradient("m.dcft_B") == gB)
        store.gradients.zero()
        let p = OrthogonalityPenalty.paper.apply(store: store, vectors: a.orthogonalVectors, gamma: 0.1)
        #expect(abs(p - 0.925) < 1e-6)  // 0.1·(3² + 0.5²)
        let pA: [Float] = [2.4, 0]       // γ·4(‖A‖²−1)·A = 0.1·4·3·[2,0]
        #expect(store.getGradient("m.dcft_A") == pA)
    }
}

/// Central differences in Double.
func numericGradientD(_ x: [Double], h: Double = 1e-5, _ f: ([Double]) -> Double) -> [Double] {
    var xp = x
    return x.indices.map { i in
        xp[i] = x[i] + h; let fp = f(xp)
        xp[i] = x[i] - h; let fm = f(xp)
        xp[i] = x[i]
        return (fp - fm) / (2 * h)
    }
}
