/// A token matched literally in the input before normalization and pre-tokenization
/// (tokenizer.json `added_tokens`; for vocabulary files, the special tokens).
public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int32
    public var special: Bool
    /// Also consume whitespace to the left / right of a match.
    public var lstrip: Bool
    public var rstrip: Bool

    public init(content: String, id: Int32, special: Bool = true, lstrip: Bool = false, rstrip: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
    }
}

/// Splits text around added tokens: leftmost match first, the longest token at a
/// position wins (tokenizers' aho-corasick `LeftmostLongest`). Text between matches is
/// tokenized normally and independently.
struct AddedTokenMatcher: Sendable {
    enum Segment {
        case text(Range<Int>)
        case token(Int32)
    }

    private let tokens: [(bytes: [UInt8], token: AddedToken)]
    /// For each possible first byte, whether some token starts with it.
    private let firstByte: [Bool]
    let isEmpty: Bool

    init(_ added: [AddedToken]) {
        let usable = added.filter { !$0.content.isEmpty }
        tokens = usable.map { (Array($0.content.utf8), $0) }
        var first = [Bool](repeating: false, count: 256)
        for t in tokens { first[Int(t.bytes[0])] = true }
        firstByte = first
        isEmpty = tokens.isEmpty
    }

    /// True if no added token can occur in `text` (the common case: a quick byte scan).
    func cannotMatch(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if isEmpty { return true }
        return firstByte.withUnsafeBufferPointer { first in !text.contains { first[Int($0)] } }
    }

    /// Appends the segments of `text` to `segments`.
    func split(_ text: UnsafeBufferPointer<UInt8>, into segments: inout [Segment]) {
        let n = text.count
        var segmentStart = 0
        var i = 0
        while i < n {
            guard firstByte[Int(text[i])], let match = longestMatch(in: text, at: i) else {
                i += 1
                continue
            }
            var start = i
            var end = i + match.bytes.count
            if match.token.lstrip {
                while start > segmentStart, let w = whitespaceBefore(start, in: text) { start -= w }
            }
            if match.token.rstrip {
                while end < n, let w = whitespaceAt(end, in: text) { end += w }
            }
            if start > segmentStart { segments.append(.text(segmentStart..<start)) }
            segments.append(.token(match.token.id))
            segmentStart = end
            i = end
        }
        if segmentStart < n { segments.append(.text(segmentStart..<n)) }
    }

    private func longestMatch(in text: UnsafeBufferPointer<UInt8>, at i: Int) -> (bytes: [UInt8], token: AddedToken)? {
        var best: (bytes: [UInt8], token: AddedToken)? = nil
        for t in tokens where t.bytes.count <= text.count - i && (best == nil || t.bytes.count > best!.bytes.count) {
            var equal = true
            for k in 0..<t.bytes.count where text[i + k] != t.bytes[k] {
                equal = false
                break
            }
            if equal { best = t }
        }
        return best
    }

    /// Length in bytes of the whitespace scalar starting at `i`, or nil.
    private func whitespaceAt(_ i: Int, in text: UnsafeBufferPointer<UInt8>) -> Int? {
        let (v, length) = UTF8Decoding.decode(text, at: i)
        return CharacterClasses.classes(of: v).contains(.whitespace) ? length : nil
    }

    /// Length in bytes of the whitespace scalar ending at `i`, or nil.
    private func whitespaceBefore(_ i: Int, in text: UnsafeBufferPointer<UInt8>) -> Int? {
        var start = i - 1
        while start > 0 && !UTF8Decoding.isLead(text[start]) { start -= 1 }
        return whitespaceAt(start, in: text).map { _ in i - start }
    }
}
