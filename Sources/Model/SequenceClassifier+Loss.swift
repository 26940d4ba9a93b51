import TensorCore

extension SequenceClassifier {
    /// The task loss of the last forward and its gradient with respect to the logits.
    ///
    /// Classification: softmax cross-entropy; regression (`numLabels == 1`): squared error —
    /// both summed over the rows with `valid[i]` and divided by `normalizer` (default: the
    /// number of valid rows). Data-parallel training passes the global batch's valid count,
    /// so averaging the ranks' gradients gives exactly the global-batch mean.
    ///
    /// - Returns: the loss and a pointer to `dLogits [batch × numLabels]` (overwritten; valid
    ///   until the next call).
    public func loss(labels: [Float], valid: [Bool]? = nil, normalizer: Int? = nil) throws -> (loss: Float, dLogits: UnsafeMutablePointer<Float>) {
        let B = lastBatch, k = options.numLabels
        precondition(labels.count == B, "\(labels.count) labels for a batch of \(B)")
        let valid = valid ?? [Bool](repeating: true, count: B)
        let count = valid.filter { $0 }.count
        let norm = Float(normalizer ?? count)
        dLogitsBuffer.ensureCapacity(B * k)
        let dl = dLogitsBuffer.pointer
        dl.update(repeating: 0, count: B * k)
        if count == 0 || norm == 0 { return (0, dl) }
        let logits = head.logits.pointer
        if k == 1 {
            let total = MeanSquaredError.forward(pred: logits, target: labels, count: B, valid: valid, normalizer: norm)
            MeanSquaredError.backward(pred: logits, target: labels, dPred: dl, count: B, valid: valid, normalizer: norm)
            return (total, dl)
        }
        let ids = (0..<B).map { valid[$0] ? Int32(labels[$0]) : CrossEntropy.ignoreIndex }
        probsBuffer.ensureCapacity(B * k)
        let mean = try CrossEntropy.forward(logits: logits, labels: ids, probs: probsBuffer.pointer, rows: B, classes: k)
        CrossEntropy.backward(probs: probsBuffer.pointer, labels: ids, dLogits: dl, rows: B, classes: k, dLoss: Float(count) / norm)
        return (mean * Float(count) / norm, dl)
    }
}
