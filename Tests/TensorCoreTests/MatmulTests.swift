import Testing
import TensorCore

/// Naive reference product on row-major matrices with optional transposes.
func naiveGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: [Double], lda: Int, b: [Double], ldb: Int) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
            let av = transA ? a[p * lda + i] : a[i * lda + p]
            let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
            s += av * bv
        }
        c[i * n + j] = s
    } }
    return c
}

@Suite("Matmul and Linear")
struct MatmulTests {
    @Test("gemm matches a naive product for every transpose combination, with padded leading dims",
          arguments: [(false, false), (false, true), (true, false), (true, true)])
    func gemmTransposes(ta: Bool, tb: Bool) {
        let m = 5, n = 7, k = 3
        let lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1
        let a = randomArray((ta ? k : m) * lda, seed: 1), b = randomArray((tb ? n : k) * ldb, seed: 2)
        var c = [Double](repeating: 0, count: m * n)
        Matmul.gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: n)
        expectClose(c, naiveGemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb), rtol: 1e-12, atol: 1e-14)
        // Float path through sgemm agrees to Float precision.
        var cf = [Float](repeating: 0, count: m * n)
        Matmul.gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a.map(Float.init), lda: lda,
                    b: b.map(Float.init), ldb: ldb, c: &cf, ldc: n)
        expectClose(cf.map(Double.init), c, rtol: 1e-5, atol: 1e-6)
    }

    @Test("gemm with beta = 1 accumulates; k = 0 only scales C")
    func gemmAccumulate() {
        let a: [Double] = [1, 2, 3, 4], b: [Double] = [5, 6, 7, 8]  // 2×2 each
        var c: [Double] = [1, 1, 1, 1]
        Matmul.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, beta: 1, c: &c, ldc: 2)
        #expect(c == [20, 23, 44, 51])  // [[19,22],[43,50]] + 1
        Matmul.gemm(m: 2, n: 2, k: 0, a: a, lda: 2, b: b, ldb: 2, beta: 0, c: &c, ldc: 2)
        #expect(c == [0, 0, 0, 0])
    }

    @Test("Linear forward: hand-computed y = x·Wᵀ + b")
    func linearForwardHand() {
        let x: [Double] = [1, 2, 3, 4, 5, 6]        // 2 rows × 3
        let w: [Double] = [1, 0, -1, 2, 1, 0]       // 2 out × 3 in
        let b: [Double] = [0.5, -1]
        var y = [Double](repeating: 0, count: 4)
        Linear.forward(x: x, weight: w, bias: b, y: &y, rows: 2, inFeatures: 3, outFeatures: 2)
        let expected: [Double] = [-1.5, 3, -1.5, 12]  // [1-3+0.5, 2+2-1, 4-6+0.5, 8+5-1]
        #expect(y == expected)
    }

    @Test("Linear backward matches finite differences for x, W and b; frozen W gets no gradient")
    func linearBackward() {
        let n = 4, i = 5, o = 3
        let x = randomArray(n * i, seed: 5), w = randomArray(o * i, seed: 6), b = randomArray(o, seed: 7)
        let g = randomArray(n * o, seed: 8)
        func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            var y = [Double](repeating: 0, count: n * o)
            Linear.forward(x: x, weight: w, bias: b, y: &y, rows: n, inFeatures: i, outFeatures: o)
            return weightedSum(y, g)
        }
        var dx = [Double](repeating: 0, count: n * i), dw = [Double](repeating: 0, count: o * i), db = [Double](repeating: 0, count: o)
        Linear.backward(x: x, weight: w, dy: g, dx: &dx, dWeight: &dw, dBias: &db, rows: n, inFeatures: i, outFeatures: o)
        expectClose(dx, numericGradient(x) { loss($0, w, b) }, rtol: 1e-7, atol: 1e-9, "dx")
        expectClose(dw, numericGradient(w) { loss(x, $0, b) }, rtol: 1e-7, atol: 1e-9, "dW")
        expectClose(db, numericGradient(b) { loss(x, w, $0) }, rtol: 1e-7, atol: 1e-9, "db")
        // Frozen weight: only dx, and it is the same.
        var dx2 = [Double](repeating: 0, count: n * i)
        Linear.backward(x: x, weight: w, dy: g, dx: &dx2, dWeight: nil, dBias: nil, rows: n, inFeatures: i, outFeatures: o)
        #expect(dx2 == dx)
    }
}
