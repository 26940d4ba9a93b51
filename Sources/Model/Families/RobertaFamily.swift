/// RoBERTa: positions count real tokens from `padding_idx + 1` (padding keeps `padding_idx`);
/// `classifier.dense` + `classifier.out_proj` head with dropout before each.
public struct RobertaFamily: EncoderFamily {
    public static let modelType = "roberta"
    public var tensorPrefix: String { "roberta." }
    public var sequenceClassificationClass: String { "RobertaForSequenceClassification" }
    public var defaultPadTokenID: Int { 1 }

    public func positions(_ inputIDs: [Int32], batch: Int, length: Int, padTokenID: Int) -> [Int32] {
        var pos = [Int32](repeating: 0, count: batch * length)
        let pad = Int32(padTokenID)
        for b in 0..<batch {
            var c: Int32 = 0
            for t in 0..<length {
                if inputIDs[b * length + t] != pad { c += 1; pos[b * length + t] = c + pad } else { pos[b * length + t] = pad }
            }
        }
        return pos
    }

    /// `logits = out_proj(dropout(tanh(dense(dropout(h[<s>])))))`.
    public var head: HeadLayout {
        HeadLayout(dense: "classifier.dense", projection: "classifier.out_proj", dropoutBeforeDense: true,
                   denseIsClassifier: true, denseInitialisable: true)
    }
}
