/// GPT-2's reversible byte ↔ printable-character mapping (`bytes_to_unicode`).
///
/// Printable Latin-1 bytes (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) map to themselves; the other
/// 68 bytes map, in byte order, to U+0100, U+0101, ... (so the space 0x20 becomes `Ġ`).
/// Byte-level vocabularies (vocab.json, merges.txt) are written in these characters; the
/// Swift model converts them back to raw bytes once, at load time, and then works on the
/// UTF-8 bytes of the text directly.
enum ByteLevelAlphabet {
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var extra: UInt32 = 0
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = 256 + extra
                extra += 1
            }
        }
        return table
    }()

    static let byteForScalar: [UInt32: UInt8] = {
        var inverse: [UInt32: UInt8] = [:]
        for (b, s) in scalarForByte.enumerated() { inverse[s] = UInt8(b) }
        return inverse
    }()

    /// The raw bytes a byte-level token string stands for, or nil if it contains a
    /// character outside the alphabet (for example an added token with a space in it).
    static func bytes(of token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = byteForScalar[s.value] else { return nil }
            bytes.append(b)
        }
        return bytes
    }

    /// The byte-level string for raw bytes (e.g. `" the"` → `"Ġthe"`).
    static func token(for bytes: [UInt8]) -> String {
        var view = String.UnicodeScalarView()
        for b in bytes { view.append(Unicode.Scalar(scalarForByte[Int(b)])!) }
        return String(view)
    }
}

/// Byte-level BPE (GPT-2 / RoBERTa), as Hugging Face tokenizers' `models::bpe::BPE` with
/// an empty continuation prefix and suffix, no dropout and no byte fallback.
///
/// Merging follows tokenizers' `Word::merge_all` step for step: a priority queue of
/// candidate merges ordered by (rank, position), stale entries skipped when popped, new
/// candidates pushed for the neighbours of each merged symbol.
struct ByteLevelBPEModel: Sendable {
    struct Merge: Sendable {
        var rank: Int32
        var newID: Int32
    }

    /// Every vocabulary entry that is a byte-level string, keyed by its raw bytes.
    let vocabulary: ByteStringTable<Int32>
    /// Id of each single byte, or -1.
    let byteIDs: [Int32]
    /// (left id << 32 | right id) → rank and merged id.
    let merges: [UInt64: Merge]
    let unknownID: Int32?
    /// tokenizers' `ignore_merges`: a piece that is itself in the vocabulary is not merged.
    let ignoreMerges: Bool

    /// - Parameters:
    ///   - vocabulary: byte-level token strings → ids (vocab.json or tokenizer.json `model.vocab`).
    ///   - merges: merge rules in rank order, as pairs of byte-level token strings.
    init(vocabulary tokens: [String: Int], merges rules: [(String, String)],
         unknownToken: String?, ignoreMerges: Bool = false) throws {
        var table = ByteStringTable<Int32>(minimumCapacity: tokens.count)
        var stringIDs: [String: Int32] = [:]
        stringIDs.reserveCapacity(tokens.count)
        for (token, id) in tokens.sorted(by: { $0.value < $1.value }) {
            guard let id32 = Int32(exactly: id), id32 >= 0 else {
                throw VocabularyIssue.malformed("token id \(id) of \"\(token)\" is out of range")
            }
            stringIDs[token] = id32
            if let bytes = ByteLevelAlphabet.bytes(of: token) { table.insert(bytes, value: id32) }
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { byteIDs[b] = table.value(for: [UInt8(b)]) ?? -1 }
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(rules.count)
        for (rank, (a, b)) in rules.enumerated() {
            guard let left = stringIDs[a], let right = stringIDs[b], let merged = stringIDs[a + b] else {
                throw VocabularyIssue.malformed("merge \(rank + 1) \"\(a) \(b)\" uses a token missing from the vocabulary")
            }
            merges[Self.key(left, right)] = Merge(rank: Int32(rank), newID: merged)
        }
        var unknownID: Int32? = nil
        if let unknownToken {
            guard let id = stringIDs[unknownToken] else { throw VocabularyIssue.missingToken(unknownToken) }
            unknownID = id
        }
        self.vocabulary = table
        self.byteIDs = byteIDs
        self.merges = merges
        self.unknownID = unknownID
        self.ignoreMerges = ignoreMerges
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the ids of one pre-tokenized piece (raw UTF-8 bytes, non-empty).
    func tokenize(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        if ignoreMerges, let id = vocabulary.value(for: piece) {
            ids.append(id)
            return
        }
        // Symbols as a doubly linked list over the original byte positions.
        var symbol: [Int32] = []
        symbol.reserveCapacity(piece.count)
        for b in piece {
            let id = byteIDs[Int(b)]
            if id >= 0 {
                symbol.append(id)
            } else if let unknownID {
                symbol.append(unknownID)
            }
        }
        let n = symbol.count
        if n < 2 {
            ids.append(contentsOf: symbol)
            return
        }
        var prev = (0..<n).map { Int32($0) - 1 }
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        var alive = [Bool](repeating: true, count: n)
        var queue = MergeQueue()
        for i in 0..<(n - 1) {
            if let m = merges[Self.key(symbol[i], symbol[i + 1])] {
                queue.push(rank: m.rank, position: Int32(i), newID: m.newID)
            }
        }
        while let top = queue.pop() {
            let pos = Int(top.position)
            guard alive[pos], next[pos] >= 0 else { continue }
            let right = Int(next[pos])
            guard let m = merges[Self.key(symbol[pos], symbol[right])], m.newID == top.newID else { continue }
            symbol[pos] = top.newID
            alive[right] = false
            next[pos] = next[right]
            if next[right] >= 0 { prev[Int(next[right])] = Int32(pos) }
            if prev[pos] >= 0, let m = merges[Self.key(symbol[Int(prev[pos])], symbol[pos])] {
                queue.push(rank: m.rank, position: prev[pos], newID: m.newID)
            }
            if next[pos] >= 0, let m = merges[Self.key(symbol[pos], symbol[Int(next[pos])])] {
                queue.push(rank: m.rank, position: Int32(pos), newID: m.newID)
            }
        }
        for i in 0..<n where alive[i] { ids.append(symbol[i]) }
    }
}

/// A binary min-heap of candidate merges ordered by (rank, position).
struct MergeQueue {
    struct Entry {
        var rank: Int32
        var position: Int32
        var newID: Int32

        @inline(__always)
        func precedes(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : position < other.position
        }
    }

    private var heap: [Entry] = []

    mutating func push(rank: Int32, position: Int32, newID: Int32) {
        heap.append(Entry(rank: rank, position: position, newID: newID))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return top }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count && heap[l].precedes(heap[best]) { best = l }
            if r < heap.count && heap[r].precedes(heap[best]) { best = r }
            if best == i { break }
            heap.swapAt(i, best)
            i = best
        }
        return top
    }
}
