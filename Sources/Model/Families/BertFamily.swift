/// BERT (and MiniLM): absolute positions from 0; pooler + classifier head.
public struct BertFamily: EncoderFamily {
    public static let modelType = "bert"
    public var tensorPrefix: String { "bert." }
    public var sequenceClassificationClass: String { "BertForSequenceClassification" }
    public var defaultPadTokenID: Int { 0 }

    public func positions(_ inputIDs: [Int32], batch: Int, length: Int, padTokenID: Int) -> [Int32] {
        Self.sequentialPositions(batch: batch, length: length)
    }

    /// `logits = classifier(dropout(tanh(pooler(h[CLS]))))`.
    public var head: HeadLayout {
        HeadLayout(dense: "bert.pooler.dense", projection: "classifier", dropoutBeforeDense: false,
                   denseIsClassifier: false, denseInitialisable: true)
    }
}
