/// The SentencePiece Unigram model as Hugging Face tokenizers' `models::unigram::Unigram`
/// (`encode_optimized` + `tokenize`):
///
/// - Viterbi over byte positions that start a scalar: every vocabulary piece that is a prefix
///   of the rest is an edge scored `score(piece)`; if no piece covers exactly the next scalar,
///   an unknown edge over that scalar scores `min score - 10`. Ties keep the first candidate
///   found (shorter pieces are found first).
/// - Consecutive unknown edges are fused into one piece. A fused piece is looked up in the
///   vocabulary; if absent it becomes `<0xNN>` pieces when byte fallback is on and all of its
///   bytes have one, and the unknown id otherwise.
/// - Every vocabulary entry takes part, control and byte pieces included; a duplicated piece
///   maps to its last id.
final class UnigramModel: Sendable {
    /// Scores by id.
    let scores: [Double]
    let unknownID: Int32
    let unknownScore: Double
    let byteFallback: Bool
    /// Ids of `<0x00>` … `<0xFF>`, or -1.
    let byteIDs: [Int32]
    let vocabulary: ByteStringTable<Int32>
    let trie: ByteTrie

    /// - Parameter pieces: (piece, score); the index is the id.
    init(pieces: [(String, Double)], unknownID: Int, byteFallback: Bool) throws {
        guard !pieces.isEmpty else { throw VocabularyIssue.malformed("the vocabulary is empty") }
        guard unknownID >= 0 && unknownID < pieces.count else {
            throw VocabularyIssue.malformed("unk_id \(unknownID) is not an id of the \(pieces.count)-piece vocabulary")
        }
        var table = ByteStringTable<Int32>(minimumCapacity: pieces.count)
        var builder = ByteTrie.Builder()
        var minScore = Double.infinity
        for (id, (piece, score)) in pieces.enumerated() {
            let bytes = Array(piece.utf8)
            table.insert(bytes, value: Int32(id))
            if !bytes.isEmpty { builder.insert(bytes, value: Int32(id)) }
            minScore = min(minScore, score)
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let name = "<0x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) + ">"
            byteIDs[b] = table.value(for: Array(name.utf8)) ?? -1
        }
        self.scores = pieces.map(\.1)
        self.unknownID = Int32(unknownID)
        self.unknownScore = minScore - 10
        self.byteFallback = byteFallback
        self.byteIDs = byteIDs
        self.vocabulary = table
        self.trie = builder.build()
    }

    /// Lattice scratch, reused across calls (one per session).
    struct Scratch {
        var best: [Double] = []
        var start: [Int32] = []
        var id: [Int32] = []
        var path: [(start: Int32, end: Int32, id: Int32)] = []
    }

    /// Appends the ids of one pre-tokenized piece (UTF-8 bytes).
    func tokenize(_ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int32], scratch: inout Scratch) {
        let n = text.count
        if n == 0 { return }
        var bestArray: [Double] = [], startArray: [Int32] = [], idArray: [Int32] = []
        var path: [(start: Int32, end: Int32, id: Int32)] = []
        swap(&bestArray, &scratch.best)
        swap(&startArray, &scratch.start)
        swap(&idArray, &scratch.id)
        swap(&path, &scratch.path)
        defer {
            swap(&bestArray, &scratch.best)
            swap(&startArray, &scratch.start)
            swap(&idArray, &scratch.id)
            swap(&path, &scratch.path)
        }
        if bestArray.count < n + 1 {
            bestArray = [Double](repeating: 0, count: n + 1)
            startArray = [Int32](repeating: -1, count: n + 1)
            idArray = [Int32](repeating: 0, count: n + 1)
        }
        path.removeAll(keepingCapacity: true)
        bestArray.withUnsafeMutableBufferPointer { best in
        startArray.withUnsafeMutableBufferPointer { start in
        idArray.withUnsafeMutableBufferPointer { nodeID in
        scores.withUnsafeBufferPointer { scores in
        trie.rootChild.withUnsafeBufferPointer { rootChild in
        trie.values.withUnsafeBufferPointer { values in
        trie.edgeStart.withUnsafeBufferPointer { edgeStart in
        trie.edgeCount.withUnsafeBufferPointer { edgeCount in
        trie.labels.withUnsafeBufferPointer { labels in
        trie.targets.withUnsafeBufferPointer { targets in
            // `best` is only read where `start` is set (and at 0).
            best[0] = 0
            for k in 0...n { start[k] = -1 }
            @inline(__always) func relax(_ end: Int, _ score: Double, _ from: Int, _ id: Int32) {
                if start[end] < 0 || score > best[end] {
                    best[end] = score
                    start[end] = Int32(from)
                    nodeID[end] = id
                }
            }
            var position = 0
            while position < n {
                let here = best[position]
                let scalarLength = min(UTF8Decoding.length(lead: text[position]), n - position)
                var coversScalar = false
                // Common-prefix search in the trie, shortest first.
                var node = Int(rootChild[Int(text[position])])
                var i = position + 1
                while node >= 0 {
                    let id = values[node]
                    if id >= 0 {
                        relax(i, scores[Int(id)] + here, position, id)
                        if i - position == scalarLength { coversScalar = true }
                    }
                    if i >= n { break }
                    let c = text[i]
                    let lo = Int(edgeStart[node]), hi = lo + Int(edgeCount[node])
                    var next = -1
                    if hi - lo <= 8 {
                        var k = lo
                        while k < hi {
                            let label = labels[k]
                            if label >= c {
                                if label == c { next = Int(targets[k]) }
                                break
                            }
                            k += 1
                        }
                    } else {
                        var a = lo, b = hi
                        while a < b {
                            let m = (a + b) >> 1
                            if labels[m] < c { a = m + 1 } else { b = m }
                        }
                        if a < hi && labels[a] == c { next = Int(targets[a]) }
                    }
                    node = next
                    i += 1
                }
                if !coversScalar { relax(position + scalarLength, unknownScore + here, position, unknownID) }
                position += scalarLength
            }
        }
        }
        }
        }
        }
        }
            // Back from the end, fusing runs of unknown edges.
            var end = n
            var unknownEnd = -1
            while end > 0 {
                let s = Int(start[end])
                if nodeID[end] == unknownID {
                    if unknownEnd < 0 { unknownEnd = end }
                } else {
                    if unknownEnd >= 0 {
                        path.append((Int32(end), Int32(unknownEnd), unknownID))
                        unknownEnd = -1
                    }
                    path.append((Int32(s), Int32(end), nodeID[end]))
                }
                end = s
            }
            if unknownEnd >= 0 { path.append((0, Int32(unknownEnd), unknownID)) }
        }
        }
        }
        }
        for edge in path.reversed() {
            if edge.id != unknownID {
                ids.append(edge.id)
                continue
            }
            let piece = UnsafeBufferPointer(rebasing: text[Int(edge.start)..<Int(edge.end)])
            if let id = vocabulary.value(for: piece) {
                ids.append(id)
            } else if byteFallback && piece.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                for b in piece { ids.append(byteIDs[Int(b)]) }
            } else {
                ids.append(unknownID)
            }
        }
    }
}

/// A byte trie for common-prefix search: node 0 is the root; a node's children are a sorted
/// run of (label, child) edges; the root has a direct 256-entry table.
struct ByteTrie: Sendable {
    let rootChild: [Int32]
    let edgeStart: [Int32]
    let edgeCount: [UInt16]
    let labels: [UInt8]
    let targets: [Int32]
    /// The id a node's path spells, or -1.
    let values: [Int32]

    struct Builder {
        private var children: [[UInt8: Int32]] = [[:]]
        private var values: [Int32] = [-1]

        mutating func insert(_ key: [UInt8], value: Int32) {
            var node = 0
            for b in key {
                if let child = children[node][b] {
                    node = Int(child)
                } else {
                    let child = Int32(children.count)
                    children.append([:])
                    values.append(-1)
                    children[node][b] = child
                    node = Int(child)
                }
            }
            values[node] = value
        }

        func build() -> ByteTrie {
            var rootChild = [Int32](repeating: -1, count: 256)
            for (label, child) in children[0] { rootChild[Int(label)] = child }
            var edgeStart = [Int32](repeating: 0, count: children.count)
            var edgeCount = [UInt16](repeating: 0, count: children.count)
            var labels: [UInt8] = []
            var targets: [Int32] = []
            for (node, edges) in children.enumerated() {
                edgeStart[node] = Int32(labels.count)
                edgeCount[node] = UInt16(edges.count)
                for (label, child) in edges.sorted(by: { $0.key < $1.key }) {
                    labels.append(label)
                    targets.append(child)
                }
            }
            return ByteTrie(rootChild: rootChild, edgeStart: edgeStart, edgeCount: edgeCount,
                            labels: labels, targets: targets, values: values)
        }
    }
}
