/// Normalizers, the Metaspace pre-tokenizer and the Unigram model of a SentencePiece
/// tokenizer (DeBERTa-v2/v3), as Hugging Face tokenizers runs them on each span of text
/// between added tokens.
final class UnigramPipeline: Sendable {
    /// One normalizer of the sequence, in order.
    enum NormalizerStep: Sendable {
        /// `Lowercase`: Unicode lowercase mapping, scalar by scalar (Rust `char::to_lowercase`).
        case lowercase
        /// `Strip`: removes leading / trailing whitespace (Rust `char::is_whitespace`).
        case strip(left: Bool, right: Bool)
        /// `Precompiled`: SentencePiece's charsmap.
        case precompiled(PrecompiledNormalizer)
        /// `Replace` with a literal string pattern (non-overlapping, left to right).
        case replace(pattern: [UInt8], content: [UInt8])
        /// `Replace` with `Regex(" {2,}")`: runs of two or more U+0020.
        case replaceSpaceRuns(content: [UInt8])
    }

    /// `Metaspace`'s `prepend_scheme`.
    enum PrependScheme: String, Sendable {
        case always, first, never
    }

    let normalizers: [NormalizerStep]
    /// The Metaspace replacement character's UTF-8 bytes (`▁` = E2 96 81).
    let replacement: [UInt8]
    let prependScheme: PrependScheme
    /// Metaspace `split`: cut before every replacement character.
    let split: Bool
    let model: UnigramModel

    init(normalizers: [NormalizerStep], replacement: [UInt8], prependScheme: PrependScheme, split: Bool,
         model: UnigramModel) {
        self.normalizers = normalizers
        self.replacement = replacement
        self.prependScheme = prependScheme
        self.split = split
        self.model = model
    }

    /// Scratch buffers for one session.
    struct Scratch {
        var a: [UInt8] = []
        var b: [UInt8] = []
        var pieceEnds: [Int] = []
        var lattice = UnigramModel.Scratch()
    }

    /// Appends the ids of one span of text (no added tokens in it). `atStart`: the span starts
    /// at offset 0 of the original text (for `prepend_scheme` "first").
    func append(_ text: UnsafeBufferPointer<UInt8>, atStart: Bool, to ids: inout [Int32],
                cache: inout WordCache, scratch: inout Scratch) {
        var a: [UInt8] = [], b: [UInt8] = [], pieceEnds: [Int] = []
        var lattice = UnigramModel.Scratch()
        swap(&a, &scratch.a)
        swap(&b, &scratch.b)
        swap(&pieceEnds, &scratch.pieceEnds)
        swap(&lattice, &scratch.lattice)
        defer {
            swap(&a, &scratch.a)
            swap(&b, &scratch.b)
            swap(&pieceEnds, &scratch.pieceEnds)
            swap(&lattice, &scratch.lattice)
        }
        // "first" prepends only if the normalized text still starts at original offset 0 (see
        // `apply`'s result).
        var startsAtZero = atStart
        a.removeAll(keepingCapacity: true)
        if let first = normalizers.first {
            if Self.apply(first, text, into: &a) { startsAtZero = false }
        } else {
            a.append(contentsOf: text)
        }
        for step in normalizers.dropFirst() {
            b.removeAll(keepingCapacity: true)
            if a.withUnsafeBufferPointer({ Self.apply(step, $0, into: &b) }) { startsAtZero = false }
            swap(&a, &b)
        }
        // Metaspace: " " → "▁", prepend "▁", cut before each "▁".
        b.removeAll(keepingCapacity: true)
        pieceEnds.removeAll(keepingCapacity: true)
        if a.isEmpty { return }
        let startsWithReplacement = a.starts(with: replacement)
        let prepend = !startsWithReplacement && a.first != 0x20
            && (prependScheme == .always || (prependScheme == .first && startsAtZero))
        if prepend { b.append(contentsOf: replacement) }
        let r0 = replacement.first ?? 0
        let n = a.count
        a.withUnsafeBufferPointer { a in
            var i = 0
            var run = 0
            while i < n {
                let byte = a[i]
                guard byte == 0x20 || (byte == r0 && Self.matches(replacement, in: a, at: i)) else {
                    i += 1
                    continue
                }
                if run < i { b.append(contentsOf: UnsafeBufferPointer(rebasing: a[run..<i])) }
                if split && !b.isEmpty && pieceEnds.last != b.count { pieceEnds.append(b.count) }
                b.append(contentsOf: replacement)
                i += byte == 0x20 ? 1 : replacement.count
                run = i
            }
            if run < n { b.append(contentsOf: UnsafeBufferPointer(rebasing: a[run..<n])) }
        }
        pieceEnds.append(b.count)
        let model = self.model
        b.withUnsafeBufferPointer { bytes in
            var start = 0
            for end in pieceEnds where end > start {
                cache.append(UnsafeBufferPointer(rebasing: bytes[start..<end]), to: &ids) {
                    model.tokenize($0, into: &$1, scratch: &lattice)
                }
                start = end
            }
        }
    }

    @inline(__always)
    static func matches(_ pattern: [UInt8], in text: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        guard i + pattern.count <= text.count else { return false }
        for k in 0..<pattern.count where text[i + k] != pattern[k] { return false }
        return true
    }

    /// Appends `text` normalized by `step` to `out`. Returns true if the first character of the
    /// result no longer aligns with the start of the input, as tokenizers' NormalizedString
    /// alignments would have it: characters stripped from the left, or a `Replace` match at the
    /// start that spans more than one character or is replaced by nothing (a one-character
    /// match keeps its alignment; `Precompiled` and `Lowercase` keep the first alignment even
    /// when they delete the first character). Metaspace's prepend scheme "first" depends on it.
    @discardableResult
    static func apply(_ step: NormalizerStep, _ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        switch step {
        case .precompiled(let charsmap):
            charsmap.normalize(text, into: &out)
            return false
        case .strip(let left, let right):
            var lo = 0, hi = text.count
            if left {
                while lo < hi {
                    let (scalar, length) = UTF8Decoding.decode(text, at: lo)
                    guard CharacterClasses.classes(of: scalar).contains(.whitespace) else { break }
                    lo += length
                }
            }
            if right {
                while hi > lo {
                    var s = hi - 1
                    while s > lo && !UTF8Decoding.isLead(text[s]) { s -= 1 }
                    let (scalar, _) = UTF8Decoding.decode(text, at: s)
                    guard CharacterClasses.classes(of: scalar).contains(.whitespace) else { break }
                    hi = s
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[lo..<hi]))
            return lo > 0
        case .replaceSpaceRuns(let content):
            var i = 0
            var run = 0
            let n = text.count
            while i < n {
                guard text[i] == 0x20 && i + 1 < n && text[i + 1] == 0x20 else {
                    i += 1
                    continue
                }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<i])) }
                while i < n && text[i] == 0x20 { i += 1 }
                out.append(contentsOf: content)
                run = i
            }
            if run < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<n])) }
            return text.count >= 2 && text[0] == 0x20 && text[1] == 0x20
        case .replace(let pattern, let content):
            guard !pattern.isEmpty else {
                out.append(contentsOf: text)
                return false
            }
            let patternScalars = pattern.reduce(0) { $0 + (UTF8Decoding.isLead($1) ? 1 : 0) }
            let matchesAtStart = matches(pattern, in: text, at: 0)
            var i = 0
            var run = 0
            let n = text.count, m = pattern.count
            while i < n {
                guard text[i] == pattern[0] && matches(pattern, in: text, at: i) else {
                    i += 1
                    continue
                }
                if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<i])) }
                out.append(contentsOf: content)
                i += m
                run = i
            }
            if run < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<n])) }
            return matchesAtStart && (patternScalars > 1 || content.isEmpty)
        case .lowercase:
            var i = 0
            while i < text.count {
                let b = text[i]
                if b < 0x80 {
                    out.append(b >= 0x41 && b <= 0x5A ? b + 0x20 : b)
                    i += 1
                    continue
                }
                let (scalar, length) = UTF8Decoding.decode(text, at: i)
                if let s = Unicode.Scalar(scalar) {
                    out.append(contentsOf: s.properties.lowercaseMapping.utf8)
                } else {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: text[i..<(i + length)]))
                }
                i += length
            }
            return false
        }
    }
}
