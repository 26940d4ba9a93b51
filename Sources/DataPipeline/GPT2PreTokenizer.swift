/// The GPT-2 / RoBERTa byte-level pre-tokenizer: a hand-written scanner equivalent to
/// the regular expression
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// as Oniguruma runs it in Hugging Face tokenizers' `ByteLevel` pre-tokenizer (leftmost
/// match, alternatives tried in order). Every scalar is a letter, a number, whitespace
/// or "other", so the matches tile the text and only their end offsets are recorded.
///
/// How each alternative maps onto the scanner, at position i:
/// 1. an ASCII apostrophe followed by `s t m d` or `re ve ll` (lower case only);
/// 2.–4. an optional single U+0020 followed by a maximal run of letters, numbers, or
///    "other" characters; the space is only taken when a non-whitespace character follows;
/// 5. a whitespace run reaching the end of the text is taken whole; a longer run followed
///    by text gives back its last character (`(?!\S)` backtracking), which then starts the
///    next match (usually as the optional space of 2.–4.);
/// 6. a single whitespace character followed by text.
struct GPT2PreTokenizer: Sendable {
    /// Scalar kinds, as small integers.
    static let letter: UInt8 = 0, number: UInt8 = 1, space: UInt8 = 2, other: UInt8 = 3

    @inline(__always)
    static func kind(of scalar: UInt32) -> UInt8 {
        let cls = CharacterClasses.classes(of: scalar)
        if cls.contains(.letter) { return letter }
        if cls.contains(.number) { return number }
        if cls.contains(.whitespace) { return space }
        return other
    }

    /// Per ASCII byte kind, precomputed.
    private static let asciiKind: [UInt8] = (0..<128).map { kind(of: UInt32($0)) }

    /// Scratch buffers reused across calls (owned by one session).
    struct Scratch {
        var kinds: [UInt8] = []
        var offsets: [Int] = []
    }

    /// Appends to `ends` the end offset (in bytes) of every piece of `text`, in order.
    /// The first piece starts at 0 and each next one where the previous ended.
    static func split(_ text: UnsafeBufferPointer<UInt8>, ends: inout [Int], scratch: inout Scratch) {
        // Decode once: the kind and byte offset of every scalar, plus a final offset.
        scratch.kinds.removeAll(keepingCapacity: true)
        scratch.offsets.removeAll(keepingCapacity: true)
        var i = 0
        asciiKind.withUnsafeBufferPointer { asciiKind in
            while i < text.count {
                let b = text[i]
                scratch.offsets.append(i)
                if b < 0x80 {
                    scratch.kinds.append(asciiKind[Int(b)])
                    i += 1
                } else {
                    let (v, length) = UTF8Decoding.decode(text, at: i)
                    scratch.kinds.append(kind(of: v))
                    i += length
                }
            }
        }
        scratch.offsets.append(text.count)
        scratch.kinds.withUnsafeBufferPointer { kinds in
            scratch.offsets.withUnsafeBufferPointer { offsets in
                scan(text, kinds: kinds, offsets: offsets, ends: &ends)
            }
        }
    }

    private static func scan(_ text: UnsafeBufferPointer<UInt8>, kinds: UnsafeBufferPointer<UInt8>,
                             offsets: UnsafeBufferPointer<Int>, ends: inout [Int]) {
        let n = kinds.count
        @inline(__always) func byte(_ k: Int) -> UInt8 { text[offsets[k]] }
        var i = 0
        while i < n {
            let b = byte(i)
            // 1. Contractions.
            if b == UInt8(ascii: "'") && i + 1 < n {
                let b1 = byte(i + 1)
                if b1 == UInt8(ascii: "s") || b1 == UInt8(ascii: "t") || b1 == UInt8(ascii: "m") || b1 == UInt8(ascii: "d") {
                    i += 2
                    ends.append(offsets[i])
                    continue
                }
                if i + 2 < n {
                    let b2 = byte(i + 2)
                    if (b1 == UInt8(ascii: "r") && b2 == UInt8(ascii: "e"))
                        || (b1 == UInt8(ascii: "v") && b2 == UInt8(ascii: "e"))
                        || (b1 == UInt8(ascii: "l") && b2 == UInt8(ascii: "l")) {
                        i += 3
                        ends.append(offsets[i])
                        continue
                    }
                }
            }
            // 2.–4. Optional space, then a run of one kind.
            var j = i
            if b == 0x20 && i + 1 < n && kinds[i + 1] != space { j = i + 1 }
            let k = kinds[j]
            if k != space {
                var end = j + 1
                while end < n && kinds[end] == k { end += 1 }
                i = end
                ends.append(offsets[i])
                continue
            }
            // 5.–6. Whitespace.
            var end = i + 1
            while end < n && kinds[end] == space { end += 1 }
            if end < n && end - i >= 2 { end -= 1 }
            i = end
            ends.append(offsets[i])
        }
    }
}
