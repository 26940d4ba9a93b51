import Testing
import TensorCore

/// Central finite differences of a scalar function, in Double:
/// `g[i] ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h`.
func numericGradient(_ x: [Double], h: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var xp = x
    return x.indices.map { i in
        xp[i] = x[i] + h
        let fp = f(xp)
        xp[i] = x[i] - h
        let fm = f(xp)
        xp[i] = x[i]
        return (fp - fm) / (2 * h)
    }
}

/// Expects `|a − b| ≤ atol + rtol·|b|` elementwise.
func expectClose<T: BinaryFloatingPoint>(
    _ a: [T], _ b: [T], rtol: T = 1e-6, atol: T = 1e-8, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(a.count == b.count, "\(what): count \(a.count) vs \(b.count)", sourceLocation: sourceLocation)
    var worst: (Int, T, T)? = nil
    for i in 0..<min(a.count, b.count) where !(abs(a[i] - b[i]) <= atol + rtol * abs(b[i])) {
        worst = (i, a[i], b[i]); break
    }
    if let (i, x, y) = worst {
        Issue.record("\(what): element \(i): \(x) vs \(y) (rtol \(rtol), atol \(atol))", sourceLocation: sourceLocation)
    }
}

/// Deterministic test inputs in [-scale, scale).
func randomArray(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = SeededRNG(seed: seed)
    return (0..<n).map { _ in (Double(rng.next() >> 11) / 9_007_199_254_740_992.0 * 2 - 1) * scale }
}

/// Σ w_i · y_i: a scalar "loss" whose gradient with respect to y is w.
func weightedSum(_ y: [Double], _ w: [Double]) -> Double { zip(y, w).reduce(0) { $0 + $1.0 * $1.1 } }
