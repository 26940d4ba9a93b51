/// A padded batch: `rows` examples padded to `length`, the longest among them.
/// All matrices are row-major `[rows × length]`.
public struct Batch: Sendable {
    public var rows: Int
    /// Padded sequence length (the longest example in the batch).
    public var length: Int
    /// Token ids, padded with the tokenizer's pad id.
    public var inputIDs: [Int32]
    /// Segment ids, 0 on padding.
    public var tokenTypeIDs: [Int32]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Float]
    /// Real (unpadded) length of each row.
    public var lengths: [Int]
    /// Class id (as Float) or regression score per row.
    public var labels: [Float]
    /// `false` for filler rows (added so every rank has full batches in evaluation); they
    /// must not count in losses or metrics.
    public var valid: [Bool]
    /// Which dataset examples the rows are.
    public var exampleIndices: [Int]

    public init(rows: Int, length: Int, padID: Int32) {
        self.rows = rows
        self.length = length
        inputIDs = [Int32](repeating: padID, count: rows * length)
        tokenTypeIDs = [Int32](repeating: 0, count: rows * length)
        attentionMask = [Float](repeating: 0, count: rows * length)
        lengths = [Int](repeating: 0, count: rows)
        labels = [Float](repeating: 0, count: rows)
        valid = [Bool](repeating: true, count: rows)
        exampleIndices = [Int](repeating: -1, count: rows)
    }

    /// Number of real (non-padding) tokens.
    public var tokenCount: Int { lengths.reduce(0, +) }
}
