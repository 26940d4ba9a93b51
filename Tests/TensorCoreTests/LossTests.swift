import Testing
import TensorCore

@Suite("Losses")
struct LossTests {
    @Test("cross-entropy: hand values, ignore index, bad label")
    func crossEntropyForward() throws {
        var p = [Double](repeating: 0, count: 4)
        let l = try CrossEntropy.forward(logits: [0, 0, 0, 0], labels: [0, 1], probs: &p, rows: 2, classes: 2)
        #expect(abs(l - 0.6931471805599453) < 1e-15)
        // Row 1 ignored: loss is row 0's, −log softmax([2, 0])[0] = log(1 + e^−2).
        let l2 = try CrossEntropy.forward(logits: [2, 0, 5, 5], labels: [0, -100], probs: &p, rows: 2, classes: 2)
        #expect(abs(l2 - 0.12692801104297263) < 1e-15)
        // Huge logits stay finite (stable log-sum-exp).
        let l3 = try CrossEntropy.forward(logits: [1000, -1000], labels: [1], probs: &p, rows: 1, classes: 2)
        #expect(abs(l3 - 2000) < 1e-9)
        #expect(throws: LabelRangeError.self) {
            try CrossEntropy.forward(logits: [0, 0], labels: [2], probs: &p, rows: 1, classes: 2)
        }
    }

    @Test("cross-entropy backward matches finite differences (with an ignored row)")
    func crossEntropyBackward() throws {
        let rows = 5, classes = 3
        let labels: [Int32] = [0, 2, -100, 1, 1]
        let x = randomArray(rows * classes, seed: 30, scale: 3)
        var p = [Double](repeating: 0, count: rows * classes)
        _ = try CrossEntropy.forward(logits: x, labels: labels, probs: &p, rows: rows, classes: classes)
        var dx = [Double](repeating: 0, count: rows * classes)
        CrossEntropy.backward(probs: p, labels: labels, dLogits: &dx, rows: rows, classes: classes, dLoss: 0.7)
        let num = numericGradient(x) { x in
            var q = [Double](repeating: 0, count: rows * classes)
            return 0.7 * (try! CrossEntropy.forward(logits: x, labels: labels, probs: &q, rows: rows, classes: classes))
        }
        expectClose(dx, num, rtol: 1e-6, atol: 1e-9)
    }

    @Test("MSE: hand value and finite-difference backward")
    func mse() {
        #expect(MeanSquaredError.forward(pred: [1, 2, 3], target: [1, 0, 0], count: 3) == 13.0 / 3.0)
        let pred = randomArray(6, seed: 31), target = randomArray(6, seed: 32)
        var d = [Double](repeating: 0, count: 6)
        MeanSquaredError.backward(pred: pred, target: target, dPred: &d, count: 6)
        expectClose(d, numericGradient(pred) { MeanSquaredError.forward(pred: $0, target: target, count: 6) }, rtol: 1e-7, atol: 1e-10)
    }
}
