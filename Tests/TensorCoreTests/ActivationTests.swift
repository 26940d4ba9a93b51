import Testing
import TensorCore
import Foundation

@Suite("GELU and masked softmax")
struct ActivationTests {
    @Test("GELU forward equals x·Φ(x) at hand-computed points")
    func geluForward() {
        // Φ values from the normal table (x·Φ(x), Φ(−3) = 0.0013498980316301).
        let x: [Double] = [0, 1, -1, 2, -3]
        let expected: [Double] = [0, 0.8413447460685429, -0.15865525393145707, 1.9544997361036416, -0.004049694094890317]
        var y = [Double](repeating: 0, count: x.count)
        GELU.forward(x: x, y: &y, count: x.count)
        expectClose(y, expected, rtol: 1e-12, atol: 1e-15)
        // The Float path uses a polynomial erf: absolute error within 2e-7·max(1, |x|).
        var yf = [Float](repeating: 0, count: x.count)
        GELU.forward(x: x.map(Float.init), y: &yf, count: x.count)
        expectClose(yf.map(Double.init), expected, rtol: 1e-6, atol: 6e-7)
    }

    @Test("softmax backward through attention dropout equals Dropout.backward then softmax backward, bit for bit")
    func softmaxThroughDropout() {
        let cols = 37, rows = 300, n = rows * cols
        let x = randomArray(n, seed: 90, scale: 3).map(Float.init), g = randomArray(n, seed: 91).map(Float.init)
        var y = [Float](repeating: 0, count: n), dropped = y, keep = [UInt8](repeating: 0, count: n)
        MaskedSoftmax.forward(x: x, mask: nil, y: &y, rows: rows, cols: cols)
        var rng = SeededRNG(seed: 4)
        Dropout.forward(x: y, y: &dropped, keep: &keep, count: n, p: 0.1, rng: &rng)
        var dp = [Float](repeating: 0, count: n), want = dp, got = [Float](repeating: .nan, count: n)
        Dropout.backward(dy: g, keep: keep, dx: &dp, count: n, p: 0.1, accumulate: false)
        MaskedSoftmax.backward(y: y, dy: dp, dx: &want, rows: rows, cols: cols, scale: 0.3, accumulate: false)
        MaskedSoftmax.backwardThroughDropout(y: y, dyDropped: g, keep: keep, p: 0.1, dx: &got, rows: rows, cols: cols, scale: 0.3)
        #expect(got.elementsEqual(want))
        #expect(keep.contains(0) && keep.contains(1))
    }

    @Test("Float GELU (fast erf/exp) agrees with the exact Double GELU over [-10, 10], forward and backward")
    func geluFloatAccuracy() {
        let xs = (0...4000).map { -10 + Double($0) * 0.005 }
        var y = [Double](repeating: 0, count: xs.count), d = y
        GELU.forward(x: xs, y: &y, count: xs.count)
        GELU.backward(x: xs, dy: [Double](repeating: 1, count: xs.count), dx: &d, count: xs.count)
        var yf = [Float](repeating: 0, count: xs.count), df = yf
        let xf = xs.map(Float.init)
        GELU.forward(x: xf, y: &yf, count: xs.count)
        GELU.backward(x: xf, dy: [Float](repeating: 1, count: xs.count), dx: &df, count: xs.count)
        for i in xs.indices {
            #expect(abs(Double(yf[i]) - y[i]) <= 2e-7 * max(1, abs(xs[i])) + 1e-7 * abs(y[i]), "gelu(\(xs[i]))")
            #expect(abs(Double(df[i]) - d[i]) <= 1e-6, "gelu'(\(xs[i])): \(df[i]) vs \(d[i])")
        }
    }

    @Test("GELU backward matches finite differences")
    func geluBackward() {
        let n = 50
        let x = randomArray(n, seed: 10, scale: 4), g = randomArray(n, seed: 11)
        var dx = [Double](repeating: 0, count: n)
        GELU.backward(x: x, dy: g, dx: &dx, count: n)
        let num = numericGradient(x) { x in
            var y = [Double](repeating: 0, count: n); GELU.forward(x: x, y: &y, count: n); return weightedSum(y, g)
        }
        expectClose(dx, num, rtol: 1e-7, atol: 1e-9)
    }

    @Test("training GELU forward (derivative saved in place of x) equals forward + backward(x:), bit for bit")
    func geluSavedDerivative() {
        func check<T: TensorScalar>(_ x: [T], _ g: [T]) {
            let n = x.count
            var y = [T](repeating: 0, count: n), dx = y
            GELU.forward(x: x, y: &y, count: n)
            GELU.backward(x: x, dy: g, dx: &dx, count: n, accumulate: false)
            var saved = x, ySaved = [T](repeating: 0, count: n), dxSaved = [T](repeating: .nan, count: n)
            saved.withUnsafeMutableBufferPointer { d in
                GELU.forward(x: d.baseAddress!, y: &ySaved, derivative: d.baseAddress!, count: n)  // derivative aliases x
            }
            GELU.backward(derivative: saved, dy: g, dx: &dxSaved, count: n, accumulate: false)
            #expect(ySaved.elementsEqual(y), "\(T.self) gelu")
            #expect(dxSaved.elementsEqual(dx), "\(T.self) gelu'")
        }
        let x = randomArray(70_000, seed: 12, scale: 5), g = randomArray(70_000, seed: 13)
        check(x, g)
        check(x.map(Float.init), g.map(Float.init))
    }

    @Test("softmax of [1,2,3] and masking")
    func softmaxForward() {
        var y = [Double](repeating: 0, count: 3)
        MaskedSoftmax.forward(x: [1, 2, 3], mask: nil, y: &y, rows: 1, cols: 3)
        expectClose(y, [0.09003057317038046, 0.24472847105479764, 0.6652409557748219], rtol: 1e-12)
        // Masking the last entry with a large negative number leaves softmax([1,2]).
        MaskedSoftmax.forward(x: [1, 2, 3], mask: [0, 0, -1e9], y: &y, rows: 1, cols: 3)
        expectClose(y, [0.2689414213699951, 0.7310585786300049, 0], rtol: 1e-12, atol: 1e-300)
        // A fully −∞ row gives zeros, not NaN.
        MaskedSoftmax.forward(x: [1, 2, 3], mask: [-.infinity, -.infinity, -.infinity], y: &y, rows: 1, cols: 3)
        #expect(y == [0, 0, 0])
    }

    @Test("softmax mask rows are shared by rowsPerMask consecutive rows")
    func softmaxMaskBroadcast() {
        // 2 batches × 2 rows each; batch 0 masks column 1, batch 1 masks column 0.
        let x = [Double](repeating: 0, count: 8)
        var y = [Double](repeating: 0, count: 8)
        MaskedSoftmax.forward(x: x, mask: [0, -.infinity, -.infinity, 0], y: &y, rows: 4, cols: 2, rowsPerMask: 2)
        #expect(y == [1, 0, 1, 0, 0, 1, 0, 1])
    }

    @Test("softmax backward with scale and mask matches finite differences")
    func softmaxBackward() {
        let rows = 6, cols = 5, scale = 0.37
        let x = randomArray(rows * cols, seed: 12, scale: 3), g = randomArray(rows * cols, seed: 13)
        let mask: [Double] = [0, 0, -10000, 0, 0, 0, -10000, 0, 0, 0]  // 2 mask rows, 3 rows each
        func f(_ x: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: rows * cols)
            MaskedSoftmax.forward(x: x, mask: mask, y: &y, rows: rows, cols: cols, rowsPerMask: 3, scale: scale)
            return y
        }
        var dx = [Double](repeating: 0, count: rows * cols)
        MaskedSoftmax.backward(y: f(x), dy: g, dx: &dx, rows: rows, cols: cols, scale: scale)
        expectClose(dx, numericGradient(x) { weightedSum(f($0), g) }, rtol: 1e-6, atol: 1e-9)
    }
}

@Suite("Tanh and Buffer")
struct TanhBufferTests {
    @Test("tanh forward at hand values; backward matches finite differences")
    func tanh() {
        var y = [Double](repeating: 0, count: 3)
        Tanh.forward(x: [0, 1, -2], y: &y, count: 3)
        expectClose(y, [0, 0.7615941559557649, -0.9640275800758169], rtol: 1e-15)
        let x = randomArray(20, seed: 40, scale: 3), g = randomArray(20, seed: 41)
        var yy = [Double](repeating: 0, count: 20)
        Tanh.forward(x: x, y: &yy, count: 20)
        var dx = [Double](repeating: 0, count: 20)
        Tanh.backward(y: yy, dy: g, dx: &dx, count: 20)
        expectClose(dx, numericGradient(x) { x in
            var o = [Double](repeating: 0, count: 20); Tanh.forward(x: x, y: &o, count: 20); return weightedSum(o, g)
        }, rtol: 1e-7, atol: 1e-10)
    }

    @Test("Buffer is zeroed, grows without shrinking, and zero() clears it")
    func buffer() {
        let b = Buffer<Float>(count: 4)
        #expect(b.array == [0, 0, 0, 0])
        b[2] = 5
        b.ensureCapacity(2)
        #expect(b.count == 4 && b[2] == 5)
        b.ensureCapacity(5)
        #expect(b.count == 6 && b.array.allSatisfy { $0 == 0 })  // grows by at least half
        b.ensureCapacity(8)
        #expect(b.count == 9)  // 6 + 3
        b[7] = 1; b.zero()
        #expect(b[7] == 0)
    }
}

@Suite("Float fast paths")
struct FastPathTests {
    @Test("Float softmax (polynomial exp) agrees with the exact Double softmax")
    func softmaxFloat() {
        let rows = 50, cols = 37
        let x = randomArray(rows * cols, seed: 50, scale: 20)
        var y = [Double](repeating: 0, count: rows * cols), yf = [Float](repeating: 0, count: rows * cols)
        MaskedSoftmax.forward(x: x, mask: nil, y: &y, rows: rows, cols: cols, scale: 0.5)
        MaskedSoftmax.forward(x: x.map(Float.init), mask: nil, y: &yf, rows: rows, cols: cols, scale: 0.5)
        for i in 0..<x.count { #expect(abs(Double(yf[i]) - y[i]) <= 1e-6 * y[i] + 1e-9, "\(yf[i]) vs \(y[i])") }
    }

    @Test("RowReduce sum, max and dot agree with Double references for every length 0…70 and 128")
    func rowReduce() {
        for n in Array(0...70) + [128] {
            let a = randomArray(n, seed: UInt64(60 + n), scale: 5).map(Float.init)
            let b = randomArray(n, seed: UInt64(200 + n), scale: 5).map(Float.init)
            let sum = a.reduce(0.0) { $0 + Double($1) }, absSum = a.reduce(0.0) { $0 + abs(Double($1)) }
            let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let absDot = zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
            #expect(abs(Double(RowReduce.sum(a, n)) - sum) <= 1e-6 * absSum + 1e-30, "sum n=\(n)")
            #expect(abs(Double(RowReduce.dot(a, b, n)) - dot) <= 1e-6 * absDot + 1e-30, "dot n=\(n)")
            #expect(RowReduce.max(a, n) == (a.max() ?? -.infinity), "max n=\(n)")
        }
    }

    @Test("Float softmax forward (masked, −∞ rows) and backward agree with Double at attention width 128")
    func softmaxFloatMasked() {
        let rows = 12, cols = 128, scale = 0.125
        let x = randomArray(rows * cols, seed: 70, scale: 30)
        var mask = [Double](repeating: 0, count: 3 * cols)
        for c in 100..<cols { mask[c] = -10000 }              // padding in mask row 0
        for c in 0..<cols { mask[2 * cols + c] = -.infinity }  // mask row 2: everything masked
        var y = [Double](repeating: 0, count: rows * cols), yf = [Float](repeating: 0, count: rows * cols)
        MaskedSoftmax.forward(x: x, mask: mask, y: &y, rows: rows, cols: cols, rowsPerMask: 4, scale: scale)
        MaskedSoftmax.forward(x: x.map(Float.init), mask: mask.map(Float.init), y: &yf, rows: rows, cols: cols,
                              rowsPerMask: 4, scale: Float(scale))
        for i in 0..<y.count { #expect(abs(Double(yf[i]) - y[i]) <= 2e-6 * y[i] + 1e-9, "y[\(i)] \(yf[i]) vs \(y[i])") }
        #expect(yf[8 * cols..<12 * cols].allSatisfy { $0 == 0 })
        let g = randomArray(rows * cols, seed: 71)
        var dx = [Double](repeating: 0.5, count: rows * cols), dxf = [Float](repeating: 0.5, count: rows * cols)
        MaskedSoftmax.backward(y: y, dy: g, dx: &dx, rows: rows, cols: cols, scale: scale)
        MaskedSoftmax.backward(y: yf, dy: g.map(Float.init), dx: &dxf, rows: rows, cols: cols, scale: Float(scale))
        for i in 0..<dx.count { #expect(abs(Double(dxf[i]) - dx[i]) <= 1e-5 * abs(dx[i]) + 1e-6, "dx[\(i)]") }
    }

    @Test("overwriting backward variants (accumulate: false) equal accumulation into zeros, whatever dx held")
    func overwriteVariants() {
        let n = 40_000, cols = 50
        let x = randomArray(n, seed: 80, scale: 3).map(Float.init), g = randomArray(n, seed: 81).map(Float.init)
        var keep = [UInt8](repeating: 0, count: n), y = [Float](repeating: 0, count: n)
        var rng = SeededRNG(seed: 3)
        Dropout.forward(x: x, y: &y, keep: &keep, count: n, p: 0.3, rng: &rng)
        MaskedSoftmax.forward(x: x, mask: nil, y: &y, rows: n / cols, cols: cols)
        let kernels: [(UnsafeMutablePointer<Float>, Bool) -> Void] = [
            { dx, acc in GELU.backward(x: x, dy: g, dx: dx, count: n, accumulate: acc) },
            { dx, acc in GELU.backward(derivative: x, dy: g, dx: dx, count: n, accumulate: acc) },
            { dx, acc in Dropout.backward(dy: g, keep: keep, dx: dx, count: n, p: 0.3, accumulate: acc) },
            { dx, acc in MaskedSoftmax.backward(y: y, dy: g, dx: dx, rows: n / cols, cols: cols, scale: 0.7, accumulate: acc) },
        ]
        for (k, kernel) in kernels.enumerated() {
            var zeroed = [Float](repeating: 0, count: n), garbage = [Float](repeating: .nan, count: n)
            kernel(&zeroed, true)
            kernel(&garbage, false)
            #expect(zeroed == garbage, "kernel \(k)")
        }
    }

    @Test("FastMath.expNonPositive over [-87, 0] and below")
    func expAccuracy() {
        for i in 0...8700 {
            let x = -Double(i) * 0.01
            let got = Double(FastMath.expNonPositive(Float(x))), want = Foundation.exp(Double(Float(x)))
            #expect(abs(got - want) <= 3e-7 * want, "exp(\(x)): \(got) vs \(want)")
        }
        #expect(FastMath.expNonPositive(-200) == 0 && FastMath.expNonPositive(-.greatestFiniteMagnitude) == 0)
        #expect(FastMath.expNonPositive(-87).isNormal)  // no subnormals reach BLAS
    }
}
