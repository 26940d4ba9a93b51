import Testing
import TensorCore

@Suite("LayerNorm")
struct LayerNormTests {
    @Test("forward: hand-computed normalisation of [1,2,3,4]")
    func forwardHand() {
        var y = [Double](repeating: 0, count: 4), mean = [0.0], rstd = [0.0]
        LayerNorm.forward(x: [1, 2, 3, 4], gamma: [1, 1, 2, 1], beta: [0, 0, 0, 1], y: &y, mean: &mean, rstd: &rstd,
                          rows: 1, cols: 4, eps: 1e-12)
        let s = 1 / (1.25).squareRoot()  // variance of [1,2,3,4] is 1.25
        expectClose(y, [-1.5 * s, -0.5 * s, 2 * 0.5 * s, 1.5 * s + 1], rtol: 1e-12)
        #expect(mean == [2.5])
        expectClose(rstd, [s], rtol: 1e-12)
    }

    @Test("backward matches finite differences for x, gamma and beta")
    func backward() {
        let rows = 3, cols = 7
        let x = randomArray(rows * cols, seed: 20, scale: 2), gamma = randomArray(cols, seed: 21)
        let beta = randomArray(cols, seed: 22), g = randomArray(rows * cols, seed: 23)
        func f(_ x: [Double], _ gamma: [Double], _ beta: [Double]) -> Double {
            var y = [Double](repeating: 0, count: rows * cols), m = [Double](repeating: 0, count: rows), r = m
            LayerNorm.forward(x: x, gamma: gamma, beta: beta, y: &y, mean: &m, rstd: &r, rows: rows, cols: cols, eps: 1e-5)
            return weightedSum(y, g)
        }
        var y = [Double](repeating: 0, count: rows * cols), m = [Double](repeating: 0, count: rows), r = m
        LayerNorm.forward(x: x, gamma: gamma, beta: beta, y: &y, mean: &m, rstd: &r, rows: rows, cols: cols, eps: 1e-5)
        var dx = [Double](repeating: 0, count: rows * cols), dg = [Double](repeating: 0, count: cols), db = dg
        LayerNorm.backward(x: x, gamma: gamma, mean: m, rstd: r, dy: g, dx: &dx, dGamma: &dg, dBeta: &db, rows: rows, cols: cols)
        expectClose(dx, numericGradient(x) { f($0, gamma, beta) }, rtol: 1e-6, atol: 1e-8, "dx")
        expectClose(dg, numericGradient(gamma) { f(x, $0, beta) }, rtol: 1e-6, atol: 1e-8, "dgamma")
        expectClose(db, numericGradient(beta) { f(x, gamma, $0) }, rtol: 1e-6, atol: 1e-8, "dbeta")
    }

    @Test("the Float forward (vectorised sums) agrees with Double at widths 1…40 and 384")
    func floatForward() {
        for cols in Array(1...40) + [384] {
            let rows = 3
            let x = randomArray(rows * cols, seed: UInt64(300 + cols), scale: 4).map { $0 + 2 }
            let gamma = randomArray(cols, seed: 7), beta = randomArray(cols, seed: 8)
            var y = [Double](repeating: 0, count: rows * cols), m = [Double](repeating: 0, count: rows), r = m
            LayerNorm.forward(x: x, gamma: gamma, beta: beta, y: &y, mean: &m, rstd: &r, rows: rows, cols: cols, eps: 1e-5)
            var yf = [Float](repeating: 0, count: rows * cols), mf = [Float](repeating: 0, count: rows), rf = mf
            LayerNorm.forward(x: x.map(Float.init), gamma: gamma.map(Float.init), beta: beta.map(Float.init), y: &yf,
                              mean: &mf, rstd: &rf, rows: rows, cols: cols, eps: 1e-5)
            for i in 0..<y.count { #expect(abs(Double(yf[i]) - y[i]) <= 2e-5 * (abs(y[i]) + 1), "cols \(cols) y[\(i)]") }
            for i in 0..<rows { #expect(abs(Double(rf[i]) - r[i]) <= 1e-5 * r[i], "cols \(cols) rstd[\(i)]") }
        }
    }

    @Test("the Float backward (vectorised sums) agrees with Double at widths 1…40 and 384; accumulate: false overwrites")
    func floatBackward() {
        for cols in Array(1...40) + [384] {
            let rows = 3
            let x = randomArray(rows * cols, seed: UInt64(400 + cols), scale: 4).map { $0 + 2 }
            let gamma = randomArray(cols, seed: 9), g = randomArray(rows * cols, seed: UInt64(500 + cols))
            var y = [Double](repeating: 0, count: rows * cols), m = [Double](repeating: 0, count: rows), r = m
            LayerNorm.forward(x: x, gamma: gamma, beta: gamma, y: &y, mean: &m, rstd: &r, rows: rows, cols: cols, eps: 1e-5)
            var dx = [Double](repeating: 0.25, count: rows * cols)
            LayerNorm.backward(x: x, gamma: gamma, mean: m, rstd: r, dy: g, dx: &dx, dGamma: nil, dBeta: nil, rows: rows, cols: cols)
            let xf = x.map(Float.init), gf = gamma.map(Float.init), mf = m.map(Float.init), rf = r.map(Float.init)
            var dxf = [Float](repeating: 0.25, count: rows * cols), over = [Float](repeating: .nan, count: rows * cols)
            LayerNorm.backward(x: xf, gamma: gf, mean: mf, rstd: rf, dy: g.map(Float.init), dx: &dxf, dGamma: nil, dBeta: nil,
                               rows: rows, cols: cols)
            LayerNorm.backward(x: xf, gamma: gf, mean: mf, rstd: rf, dy: g.map(Float.init), dx: &over, dGamma: nil, dBeta: nil,
                               rows: rows, cols: cols, accumulate: false)
            let scale = dx.map(abs).max()!
            for i in 0..<dx.count {
                #expect(abs(Double(dxf[i]) - dx[i]) <= 2e-5 * scale, "cols \(cols) dx[\(i)]")
                #expect(abs(Double(over[i]) - (dx[i] - 0.25)) <= 2e-5 * scale, "cols \(cols) overwrite dx[\(i)]")
            }
        }
    }

    @Test("results do not depend on the thread count (bitwise)")
    func threadIndependence() {
        let rows = 512, cols = 384
        let x = randomArray(rows * cols, seed: 24).map(Float.init)
        let gamma = [Float](repeating: 1.1, count: cols), beta = [Float](repeating: 0.1, count: cols)
        func run(threads: Int) -> [Float] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            var y = [Float](repeating: 0, count: rows * cols), m = [Float](repeating: 0, count: rows), r = m
            LayerNorm.forward(x: x, gamma: gamma, beta: beta, y: &y, mean: &m, rstd: &r, rows: rows, cols: cols, eps: 1e-12)
            var dx = [Float](repeating: 0, count: rows * cols)
            LayerNorm.backward(x: x, gamma: gamma, mean: m, rstd: r, dy: y, dx: &dx, dGamma: nil, dBeta: nil, rows: rows, cols: cols)
            return y + dx
        }
        #expect(run(threads: 1) == run(threads: 4))
    }

    @Test("fused residual forward/backward equal dropout, add and LayerNorm run separately, bit for bit",
          arguments: [0.0, 0.1])
    func residualFusion(p: Double) {
        let rows = 50, cols = 384, n = rows * cols
        let branch = randomArray(n, seed: 60, scale: 3).map(Float.init), res = randomArray(n, seed: 61).map(Float.init)
        let gamma = randomArray(cols, seed: 62).map { Float(1 + $0 / 4) }, beta = randomArray(cols, seed: 63).map(Float.init)
        let dy = randomArray(n, seed: 64).map(Float.init)
        // Separate: dropout pass, residual add, LayerNorm; backward LayerNorm then dropout.
        var sum = [Float](repeating: 0, count: n), keep = [UInt8](repeating: 0, count: n)
        var rng = SeededRNG(seed: 9)
        Dropout.forward(x: branch, y: &sum, keep: &keep, count: n, p: p, rng: &rng)
        Elementwise.add(res, into: &sum, count: n)
        var y = [Float](repeating: 0, count: n), mean = [Float](repeating: 0, count: rows), rstd = mean
        LayerNorm.forward(x: sum, gamma: gamma, beta: beta, y: &y, mean: &mean, rstd: &rstd, rows: rows, cols: cols, eps: 1e-12)
        var ds = [Float](repeating: 0, count: n), db = ds
        var dGamma = [Float](repeating: 0.5, count: cols), dBeta = dGamma
        LayerNorm.backward(x: sum, gamma: gamma, mean: mean, rstd: rstd, dy: dy, dx: &ds, dGamma: &dGamma, dBeta: &dBeta,
                           rows: rows, cols: cols, accumulate: false)
        Dropout.backward(dy: ds, keep: keep, dx: &db, count: n, p: p, accumulate: false)
        // Fused, into NaN-filled outputs.
        var fKeep = [UInt8](repeating: 0, count: n), fBranch = branch
        var rng2 = SeededRNG(seed: 9)
        Dropout.drawMask(keep: &fKeep, count: n, p: p, rng: &rng2)
        let keepArg: [UInt8]? = p > 0 ? fKeep : nil
        var fy = [Float](repeating: .nan, count: n), fMean = [Float](repeating: .nan, count: rows), fRstd = fMean
        LayerNorm.forwardResidual(branch: &fBranch, residual: res, keep: keepArg, p: p, gamma: gamma, beta: beta, y: &fy,
                                  mean: &fMean, rstd: &fRstd, rows: rows, cols: cols, eps: 1e-12)
        #expect(fBranch.elementsEqual(sum), "s = dropout(branch) + residual written over branch")
        #expect(fy.elementsEqual(y) && fMean.elementsEqual(mean) && fRstd.elementsEqual(rstd))
        var fds = [Float](repeating: .nan, count: n), fdb = fds
        var fdGamma = [Float](repeating: 0.5, count: cols), fdBeta = fdGamma
        if p > 0 {
            LayerNorm.backwardResidual(s: fBranch, gamma: gamma, mean: fMean, rstd: fRstd, dy: dy, dResidual: &fds, dBranch: &fdb,
                                       keep: keepArg, p: p, dGamma: &fdGamma, dBeta: &fdBeta, rows: rows, cols: cols)
            #expect(fdb.elementsEqual(db))
            #expect(keep.contains(0) && keep.contains(1))
        } else {
            LayerNorm.backwardResidual(s: fBranch, gamma: gamma, mean: fMean, rstd: fRstd, dy: dy, dResidual: &fds, dBranch: nil,
                                       keep: nil, p: p, dGamma: &fdGamma, dBeta: &fdBeta, rows: rows, cols: cols)
            #expect(ds.elementsEqual(db), "without dropout the branch gradient is ds")
        }
        #expect(fds.elementsEqual(ds))
        #expect(fdGamma.elementsEqual(dGamma) && fdBeta.elementsEqual(dBeta))
    }
}
