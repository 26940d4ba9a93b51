/// SentencePiece's compiled normalization rules (`precompiled_charsmap`, e.g. nmt_nfkc), applied
/// exactly as Hugging Face tokenizers' `Precompiled` normalizer (crate spm_precompiled):
///
/// - The blob is `u32 trie size in bytes (little-endian)`, then the trie as little-endian u32
///   units of a Darts-clone double array, then the replacement strings, NUL-terminated.
/// - Text is processed one extended grapheme cluster at a time. A cluster shorter than 6 bytes
///   whose bytes have a matching key as a prefix is replaced, whole, by the replacement of the
///   *shortest* such key (`common_prefix_search(...)[0]`). Otherwise each scalar of the cluster
///   is looked up on its own and replaced if it has a key. Lookups stop at a NUL byte.
final class PrecompiledNormalizer: Sendable {
    /// Double-array units.
    private let units: [UInt32]
    /// Replacement strings, NUL-separated.
    private let normalized: [UInt8]
    /// For each ASCII byte: the replacement range in `normalized`, if the byte has one.
    private let asciiReplacement: [Range<Int>?]
    /// True if no ASCII byte other than CR has a replacement: ASCII text without CR is then
    /// left as it is.
    let asciiIsIdentity: Bool

    enum ParseError: Error, Equatable, CustomStringConvertible {
        case tooShort(Int)
        case trieTruncated(trieBytes: Int, available: Int)
        case emptyTrie
        case replacementsNotUTF8

        var description: String {
            switch self {
            case .tooShort(let count):
                return "precompiled_charsmap has \(count) bytes, fewer than its 4-byte trie size"
            case .trieTruncated(let trieBytes, let available):
                return "precompiled_charsmap declares a \(trieBytes)-byte trie but only \(available) bytes follow"
            case .emptyTrie:
                return "precompiled_charsmap has an empty trie"
            case .replacementsNotUTF8:
                return "precompiled_charsmap replacement strings are not valid UTF-8"
            }
        }
    }

    init(charsmap: [UInt8]) throws(ParseError) {
        guard charsmap.count >= 4 else { throw .tooShort(charsmap.count) }
        let trieBytes = Int(UInt32(charsmap[0]) | UInt32(charsmap[1]) << 8 | UInt32(charsmap[2]) << 16 | UInt32(charsmap[3]) << 24)
        let unitCount = trieBytes / 4
        guard unitCount * 4 <= charsmap.count - 4 else {
            throw .trieTruncated(trieBytes: trieBytes, available: charsmap.count - 4)
        }
        guard unitCount > 0 else { throw .emptyTrie }
        var units = [UInt32](repeating: 0, count: unitCount)
        for k in 0..<unitCount {
            let o = 4 + 4 * k
            units[k] = UInt32(charsmap[o]) | UInt32(charsmap[o + 1]) << 8 | UInt32(charsmap[o + 2]) << 16 | UInt32(charsmap[o + 3]) << 24
        }
        let normalized = Array(charsmap[(4 + 4 * unitCount)...])
        guard String(validating: normalized, as: UTF8.self) != nil else { throw .replacementsNotUTF8 }
        self.units = units
        self.normalized = normalized
        var ascii = [Range<Int>?](repeating: nil, count: 128)
        var identity = true
        for b in 1..<128 {
            var byte = UInt8(b)
            let match = withUnsafePointer(to: &byte) { Self.shortestMatch(units, UnsafeBufferPointer(start: $0, count: 1)) }
            if let match {
                ascii[b] = Self.replacementRange(normalized, match)
                if b != 0x0D { identity = false }
            }
        }
        asciiReplacement = ascii
        asciiIsIdentity = identity
    }

    // Darts-clone unit accessors (spm_precompiled's ArrayUnitTrait).
    @inline(__always) private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    @inline(__always) private static func value(_ u: UInt32) -> UInt32 { u & 0x7FFF_FFFF }
    @inline(__always) private static func label(_ u: UInt32) -> UInt32 { u & (0x8000_0000 | 0xFF) }
    @inline(__always) private static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

    /// The value of the shortest key that is a prefix of `key` (the first result of
    /// `common_prefix_search`), or nil. Out-of-range positions count as "no match".
    @inline(__always)
    private static func shortestMatch(_ units: [UInt32], _ key: UnsafeBufferPointer<UInt8>) -> Int? {
        units.withUnsafeBufferPointer { array in
            var position = Self.offset(array[0])
            for c in key {
                if c == 0 { return nil }
                position ^= Int(c)
                guard position < array.count else { return nil }
                let unit = array[position]
                if Self.label(unit) != UInt32(c) { return nil }
                position ^= Self.offset(unit)
                guard position < array.count else { return nil }
                if Self.hasLeaf(unit) { return Int(Self.value(array[position])) }
            }
            return nil
        }
    }

    /// The replacement string starting at `index`: up to the next NUL or the end.
    private static func replacementRange(_ normalized: [UInt8], _ index: Int) -> Range<Int> {
        var end = min(index, normalized.count)
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        return min(index, end)..<end
    }

    /// The replacement for `key`, or nil if no key is a prefix of it.
    @inline(__always)
    func transform(_ key: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard let index = Self.shortestMatch(units, key) else { return nil }
        return Self.replacementRange(normalized, index)
    }

    /// Appends the normalization of `text` (valid UTF-8) to `out`.
    func normalize(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let n = text.count
        var isASCII = true
        var hasCR = false
        for b in text {
            if b >= 0x80 { isASCII = false; break }
            if b == 0x0D { hasCR = true }
        }
        if isASCII {
            if asciiIsIdentity && !hasCR {
                out.append(contentsOf: text)
                return
            }
            // ASCII graphemes are single bytes, except CR LF. Unchanged runs are copied whole.
            var i = 0
            var run = 0
            asciiReplacement.withUnsafeBufferPointer { table in
                while i < n {
                    let byte = text[i]
                    let crlf = byte == 0x0D && i + 1 < n && text[i + 1] == 0x0A
                    guard crlf || table[Int(byte)] != nil else {
                        i += 1
                        continue
                    }
                    if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<i])) }
                    if crlf {
                        appendGrapheme(UnsafeBufferPointer(rebasing: text[i..<(i + 2)]), into: &out)
                        i += 2
                    } else {
                        out.append(contentsOf: normalized[table[Int(byte)]!])
                        i += 1
                    }
                    run = i
                }
            }
            if run < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<n])) }
            return
        }
        // Text from an earlier normalizer with a corrupted charsmap may not be valid UTF-8;
        // then go scalar by scalar rather than trust grapheme offsets of a repaired copy.
        guard let string = String(validating: text, as: UTF8.self) else {
            var i = 0
            while i < n {
                let end = min(n, i + UTF8Decoding.length(lead: text[i]))
                appendGrapheme(UnsafeBufferPointer(rebasing: text[i..<end]), into: &out)
                i = end
            }
            return
        }
        let utf8 = string.utf8
        var start = 0
        var index = string.startIndex
        while index < string.endIndex {
            let next = string.index(after: index)
            let end = start + utf8.distance(from: index, to: next)
            appendGrapheme(UnsafeBufferPointer(rebasing: text[start..<end]), into: &out)
            start = end
            index = next
        }
    }

    /// One grapheme cluster, as spm_precompiled's `Precompiled::normalize`.
    @inline(__always)
    private func appendGrapheme(_ grapheme: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        if grapheme.count < 6, let r = transform(grapheme) {
            out.append(contentsOf: normalized[r])
            return
        }
        var i = 0
        while i < grapheme.count {
            let length = UTF8Decoding.length(lead: grapheme[i])
            let scalar = UnsafeBufferPointer(rebasing: grapheme[i..<min(grapheme.count, i + length)])
            if let r = transform(scalar) {
                out.append(contentsOf: normalized[r])
            } else {
                out.append(contentsOf: scalar)
            }
            i += length
        }
    }
}

extension UTF8Decoding {
    /// Length of the sequence a UTF-8 lead byte starts (1 for a stray continuation byte).
    @inline(__always)
    static func length(lead b: UInt8) -> Int {
        if b < 0xC0 { return 1 }
        if b < 0xE0 { return 2 }
        if b < 0xF0 { return 3 }
        return 4
    }
}
