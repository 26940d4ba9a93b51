/// An index into a table that is out of range (a token id ≥ vocabulary size, or negative).
public struct EmbeddingIndexError: Error, CustomStringConvertible {
    public let position: Int
    public let index: Int32
    public let tableRows: Int
    public init(position: Int, index: Int32, tableRows: Int) {
        self.position = position; self.index = index; self.tableRows = tableRows
    }
    public var description: String {
        "embedding index \(index) at position \(position) is outside the table of \(tableRows) rows"
    }
}

/// Embedding lookup: row gather forward, scatter-add backward.
public enum Embedding {
    /// `out[i, :] = table[ids[i], :]` for `count` ids; `table` is `[rows × dim]`.
    /// Throws (before writing anything) if an id is outside `0..<rows`.
    @inlinable
    public static func forward<T: TensorScalar>(
        ids: UnsafePointer<Int32>, table: UnsafePointer<T>, out: UnsafeMutablePointer<T>,
        count: Int, rows: Int, dim: Int
    ) throws {
        for i in 0..<count where ids[i] < 0 || Int(ids[i]) >= rows {
            throw EmbeddingIndexError(position: i, index: ids[i], tableRows: rows)
        }
        Parallel.forRanges(count, grain: max(1, 16_384 / max(dim, 1))) { range in
            for i in range {
                (out + i * dim).update(from: table + Int(ids[i]) * dim, count: dim)
            }
        }
    }

    /// `dTable[ids[i], :] += dOut[i, :]`, serially in position order, so repeated ids
    /// accumulate deterministically. Ids were validated by `forward`.
    @inlinable
    public static func backward<T: TensorScalar>(
        ids: UnsafePointer<Int32>, dOut: UnsafePointer<T>, dTable: UnsafeMutablePointer<T>,
        count: Int, dim: Int
    ) {
        for i in 0..<count {
            let dst = dTable + Int(ids[i]) * dim, src = dOut + i * dim
            for c in 0..<dim { dst[c] += src[c] }
        }
    }
}
