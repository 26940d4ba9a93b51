import RealModule

/// A label outside `0..<classes` that is not the ignore index.
public struct LabelRangeError: Error, CustomStringConvertible {
    public let position: Int
    public let label: Int32
    public let classes: Int
    public init(position: Int, label: Int32, classes: Int) {
        self.position = position; self.label = label; self.classes = classes
    }
    public var description: String {
        "label \(label) at position \(position) is outside 0..<\(classes)"
    }
}

/// Mean softmax cross-entropy over the rows whose label is not `ignoreIndex`
/// (PyTorch's `CrossEntropyLoss()` with its default `ignore_index = -100`).
public enum CrossEntropy {
    public static let ignoreIndex: Int32 = -100

    /// Returns the mean loss over counted rows (0 when none count). Writes the
    /// softmax probabilities `[rows × classes]` to `probs` for the backward pass.
    @inlinable
    public static func forward<T: TensorScalar>(
        logits: UnsafePointer<T>, labels: UnsafePointer<Int32>, probs: UnsafeMutablePointer<T>,
        rows: Int, classes: Int
    ) throws -> T {
        for r in 0..<rows where labels[r] != ignoreIndex && (labels[r] < 0 || Int(labels[r]) >= classes) {
            throw LabelRangeError(position: r, label: labels[r], classes: classes)
        }
        MaskedSoftmax.forward(x: logits, mask: nil, y: probs, rows: rows, cols: classes)
        var total: T = 0
        var counted = 0
        for r in 0..<rows where labels[r] != ignoreIndex {
            // log-softmax computed from the logits (stable), not log(prob), so tiny probs stay exact.
            let lr = logits + r * classes
            var maxv = lr[0]
            for c in 1..<classes where lr[c] > maxv { maxv = lr[c] }
            var s: T = 0
            for c in 0..<classes { s += T.exp(lr[c] - maxv) }
            total += maxv + T.log(s) - lr[Int(labels[r])]
            counted += 1
        }
        return counted == 0 ? 0 : total / T(counted)
    }

    /// `dLogits[r, c] += dLoss · (probs[r, c] − [c == label_r]) / counted` for counted rows.
    @inlinable
    public static func backward<T: TensorScalar>(
        probs: UnsafePointer<T>, labels: UnsafePointer<Int32>, dLogits: UnsafeMutablePointer<T>,
        rows: Int, classes: Int, dLoss: T = 1
    ) {
        var counted = 0
        for r in 0..<rows where labels[r] != ignoreIndex { counted += 1 }
        if counted == 0 { return }
        let s = dLoss / T(counted)
        for r in 0..<rows where labels[r] != ignoreIndex {
            let pr = probs + r * classes, dr = dLogits + r * classes
            for c in 0..<classes { dr[c] += s * pr[c] }
            dr[Int(labels[r])] -= s
        }
    }
}

/// Squared error `Σ (pred − target)² / normalizer` over the rows with `valid[i]` (all rows when
/// `valid` is nil); `normalizer` defaults to `count`, which is PyTorch's `MSELoss()` (STS-B
/// regression). Data-parallel training passes the global batch's size as the normalizer.
public enum MeanSquaredError {
    @inlinable
    public static func forward<T: TensorScalar>(pred: UnsafePointer<T>, target: UnsafePointer<T>, count: Int,
                                                valid: [Bool]? = nil, normalizer: T? = nil) -> T {
        let norm = normalizer ?? T(count)
        if count == 0 || norm == 0 { return 0 }
        var s: T = 0
        for i in 0..<count where valid?[i] ?? true { let d = pred[i] - target[i]; s += d * d }
        return s / norm
    }

    /// `dPred[i] += dLoss · (2 · (pred[i] − target[i]) / normalizer)` for the valid rows.
    @inlinable
    public static func backward<T: TensorScalar>(
        pred: UnsafePointer<T>, target: UnsafePointer<T>, dPred: UnsafeMutablePointer<T>,
        count: Int, dLoss: T = 1, valid: [Bool]? = nil, normalizer: T? = nil
    ) {
        let norm = normalizer ?? T(count)
        if count == 0 || norm == 0 { return }
        for i in 0..<count where valid?[i] ?? true { dPred[i] += dLoss * (2 * (pred[i] - target[i]) / norm) }
    }
}
