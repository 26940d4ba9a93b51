import Foundation

/// BertNormalizer settings (tokenizer.json `normalizer`, or tokenizer_config.json
/// `do_lower_case` / `strip_accents` / `tokenize_chinese_chars`).
public struct BertNormalizerOptions: Sendable, Equatable {
    /// Drop control characters, NUL and U+FFFD; turn every whitespace character into a space.
    public var cleanText: Bool
    /// Put spaces around CJK ideographs so each becomes its own word.
    public var handleChineseChars: Bool
    /// NFD, then drop nonspacing marks. `nil` means "same as `lowercase`" (Hugging Face default).
    public var stripAccents: Bool?
    public var lowercase: Bool

    public init(cleanText: Bool = true, handleChineseChars: Bool = true,
                stripAccents: Bool? = nil, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }
}

/// Words produced by a pre-tokenizer: their UTF-8 bytes back to back, plus end offsets.
struct WordList {
    var bytes: [UInt8] = []
    var ends: [Int] = []
    private var wordStart = 0

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        wordStart = 0
    }

    @inline(__always)
    mutating func endWord() {
        if bytes.count > wordStart {
            ends.append(bytes.count)
            wordStart = bytes.count
        }
    }

    @inline(__always)
    mutating func append(byte: UInt8) { bytes.append(byte) }

    @inline(__always)
    mutating func append(scalar: UInt32) { UTF8Decoding.append(scalar, to: &bytes) }
}

/// BERT's normalizer and pre-tokenizer (Hugging Face `BertNormalizer` followed by
/// `BertPreTokenizer`), fused into one pass over the UTF-8 bytes of the text.
///
/// Order of operations, as in tokenizers' bert.rs: clean text, space out CJK, strip accents
/// (NFD, drop Mn), lowercase (per scalar, full Unicode mapping, no final-sigma rule); then
/// split on whitespace and isolate every punctuation character. ASCII takes a table-driven
/// fast path; non-ASCII runs (between ASCII characters, which are always NFD starters, so
/// canonical reordering never crosses them) go through Foundation's NFD.
struct BasicTokenizer: Sendable {
    let cleanText: Bool
    let handleChineseChars: Bool
    let stripAccents: Bool
    let lowercase: Bool
    /// Per ASCII byte: 0 = drop, 1 = whitespace, 2 = punctuation, 3 = word byte.
    private let asciiAction: [UInt8]
    /// Per ASCII byte: the byte to emit (lower-cased if configured).
    private let asciiMap: [UInt8]

    private static let drop: UInt8 = 0, space: UInt8 = 1, punct: UInt8 = 2, word: UInt8 = 3

    init(options: BertNormalizerOptions) {
        cleanText = options.cleanText
        handleChineseChars = options.handleChineseChars
        stripAccents = options.stripAccents ?? options.lowercase
        lowercase = options.lowercase
        var action = [UInt8](repeating: Self.word, count: 128)
        var map = [UInt8](repeating: 0, count: 128)
        for b in 0..<128 {
            let cls = CharacterClasses.classes(of: UInt32(b))
            if options.cleanText && (b == 0 || cls.contains(.other)) {
                action[b] = Self.drop
            } else if cls.contains(.whitespace) {
                action[b] = Self.space
            } else if cls.contains(.punctuation) {
                action[b] = Self.punct
            }
            map[b] = options.lowercase && (65...90).contains(b) ? UInt8(b + 32) : UInt8(b)
        }
        asciiAction = action
        asciiMap = map
    }

    /// Appends the words of `text` to `words`. `run` is scratch space for non-ASCII scalars.
    func split(_ text: UnsafeBufferPointer<UInt8>, into words: inout WordList, run: inout [UInt32]) {
        let n = text.count
        var i = 0
        asciiAction.withUnsafeBufferPointer { action in
            asciiMap.withUnsafeBufferPointer { map in
                while i < n {
                    let b = text[i]
                    if b < 0x80 {
                        if !run.isEmpty { flush(&run, into: &words) }
                        switch action[Int(b)] {
                        case Self.word: words.append(byte: map[Int(b)])
                        case Self.space: words.endWord()
                        case Self.punct:
                            words.endWord()
                            words.append(byte: b)
                            words.endWord()
                        default: break
                        }
                        i += 1
                        continue
                    }
                    let (v, length) = UTF8Decoding.decode(text, at: i)
                    i += length
                    let cls = CharacterClasses.classes(of: v)
                    if cleanText && (v == 0xFFFD || cls.contains(.other)) { continue }
                    if cls.contains(.whitespace) {
                        flush(&run, into: &words)
                        words.endWord()
                    } else if handleChineseChars && cls.contains(.chinese) {
                        flush(&run, into: &words)
                        words.endWord()
                        run.append(v)
                        flush(&run, into: &words)
                        words.endWord()
                    } else {
                        run.append(v)
                    }
                }
            }
        }
        flush(&run, into: &words)
        words.endWord()
    }

    /// Normalizes a run of non-ASCII scalars (accents, case) and pre-tokenizes the result.
    private func flush(_ run: inout [UInt32], into words: inout WordList) {
        if run.isEmpty { return }
        if stripAccents {
            var view = String.UnicodeScalarView()
            for v in run { view.append(Unicode.Scalar(v)!) }
            for s in String(view).decomposedStringWithCanonicalMapping.unicodeScalars
            where !CharacterClasses.classes(of: s.value).contains(.nonspacingMark) {
                emitLowercased(s.value, into: &words)
            }
        } else {
            for v in run { emitLowercased(v, into: &words) }
        }
        run.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private func emitLowercased(_ v: UInt32, into words: inout WordList) {
        guard lowercase else { return emit(v, into: &words) }
        if v < 0x80 { return emit(UInt32(asciiMap[Int(v)]), into: &words) }
        let scalar = Unicode.Scalar(v)!
        if !scalar.properties.changesWhenLowercased { return emit(v, into: &words) }
        for s in scalar.properties.lowercaseMapping.unicodeScalars { emit(s.value, into: &words) }
    }

    /// BertPreTokenizer on one normalized scalar.
    @inline(__always)
    private func emit(_ v: UInt32, into words: inout WordList) {
        let cls = CharacterClasses.classes(of: v)
        if cls.contains(.whitespace) {
            words.endWord()
        } else if cls.contains(.punctuation) {
            words.endWord()
            words.append(scalar: v)
            words.endWord()
        } else {
            words.append(scalar: v)
        }
    }
}
