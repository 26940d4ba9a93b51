/// GLUE evaluation metrics, computed in Double over every prediction (after they have been
/// gathered to rank 0). Definitions follow scikit-learn and SciPy, which the tests use as
/// the reference.
public enum Metrics {
    /// Fraction of `predictions` equal to `labels`; 0 for empty input.
    public static func accuracy(_ predictions: [Int], _ labels: [Int]) -> Double {
        precondition(predictions.count == labels.count, "predictions and labels differ in count")
        if labels.isEmpty { return 0 }
        return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    /// Binary F1 of the `positive` class: `2·tp / (2·tp + fp + fn)`; 0 when there is no
    /// positive in either predictions or labels (scikit-learn's `zero_division` result).
    public static func f1(_ predictions: [Int], _ labels: [Int], positive: Int = 1) -> Double {
        precondition(predictions.count == labels.count, "predictions and labels differ in count")
        var tp = 0, fp = 0, fn = 0
        for (p, l) in zip(predictions, labels) {
            if p == positive && l == positive { tp += 1 } else if p == positive { fp += 1 } else if l == positive { fn += 1 }
        }
        let d = 2 * tp + fp + fn
        return d == 0 ? 0 : Double(2 * tp) / Double(d)
    }

    /// Matthews correlation coefficient, multiclass form (Gorodkin's R_K, as scikit-learn):
    /// `(c·s − Σ_k p_k·t_k) / √((s² − Σ p_k²)(s² − Σ t_k²))`, 0 when a denominator factor is 0.
    public static func matthews(_ predictions: [Int], _ labels: [Int]) -> Double {
        precondition(predictions.count == labels.count, "predictions and labels differ in count")
        let classes = Set(predictions).union(labels)
        var p: [Int: Double] = [:], t: [Int: Double] = [:]
        var c = 0.0
        for (a, b) in zip(predictions, labels) {
            p[a, default: 0] += 1
            t[b, default: 0] += 1
            if a == b { c += 1 }
        }
        let s = Double(labels.count)
        var pt = 0.0, pp = 0.0, tt = 0.0
        for k in classes {
            let pk = p[k] ?? 0, tk = t[k] ?? 0
            pt += pk * tk; pp += pk * pk; tt += tk * tk
        }
        let den = (s * s - pp) * (s * s - tt)
        return den == 0 ? 0 : (c * s - pt) / den.squareRoot()
    }

    /// Pearson correlation; NaN when either input is constant (as SciPy) or has < 2 values.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "inputs differ in count")
        let n = Double(x.count)
        if x.count < 2 { return .nan }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            let dx = a - mx, dy = b - my
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        if sxx == 0 || syy == 0 { return .nan }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }

    /// Spearman rank correlation: Pearson of the ranks, ties given their average rank.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        pearson(averageRanks(x), averageRanks(y))
    }

    /// 1-based ranks with ties averaged (SciPy's `rankdata(method="average")`).
    public static func averageRanks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] || (v[$0] == v[$1] && $0 < $1) }
        var ranks = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let avg = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = avg }
            i = j + 1
        }
        return ranks
    }
}
