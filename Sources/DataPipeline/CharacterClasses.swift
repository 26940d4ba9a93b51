/// Character classes of Unicode scalars, exactly as Hugging Face `tokenizers` sees them.
///
/// `tokenizers` takes its classes from Rust crates that pin older Unicode data than the
/// Swift toolchain (`unicode_categories` for Cc/Cf/Co, P* and Mn; Oniguruma for `\p{L}`
/// and `\p{N}`). Swift's `Unicode.Scalar.Properties` would disagree on a few thousand code
/// points (newer letters and marks, unassigned code points), so the classes come from
/// `UnicodeTables`, which the goldens script generates by probing `tokenizers`.
///
/// Lookups are a table index for planes 0-3 (everything assigned outside tags, variation
/// selectors and private use) and a binary search above.
struct CharClass: OptionSet, Sendable {
    let rawValue: UInt8

    /// Cc, Cf, Co: removed by BertNormalizer's clean_text (except \t \n \r).
    static let other = CharClass(rawValue: 1 << 0)
    /// Unicode White_Space (Rust `char::is_whitespace`, Oniguruma `\s`).
    static let whitespace = CharClass(rawValue: 1 << 1)
    /// BertPreTokenizer punctuation: ASCII symbol ranges plus Unicode P*.
    static let punctuation = CharClass(rawValue: 1 << 2)
    /// Mn: removed after NFD when accents are stripped.
    static let nonspacingMark = CharClass(rawValue: 1 << 3)
    /// `\p{L}` in the GPT-2 pre-tokenizer pattern.
    static let letter = CharClass(rawValue: 1 << 4)
    /// `\p{N}` in the GPT-2 pre-tokenizer pattern.
    static let number = CharClass(rawValue: 1 << 5)
    /// CJK ideographs that BertNormalizer surrounds with spaces (handle_chinese_chars).
    static let chinese = CharClass(rawValue: 1 << 6)
}

enum CharacterClasses {
    private static let tables: [(CharClass, [UInt32])] = [
        (.other, UnicodeTables.other),
        (.whitespace, UnicodeTables.whitespace),
        (.punctuation, UnicodeTables.punctuation),
        (.nonspacingMark, UnicodeTables.nonspacingMark),
        (.letter, UnicodeTables.letter),
        (.number, UnicodeTables.number),
        (.chinese, chineseRanges),
    ]

    /// The CJK blocks of BertNormalizer's `is_chinese_char` (tokenizers, bert.rs), sorted.
    static let chineseRanges: [UInt32] = [
        0x3400, 0x4DBF, 0x4E00, 0x9FFF, 0xF900, 0xFAFF, 0x20000, 0x2A6DF,
        0x2A700, 0x2B73F, 0x2B740, 0x2B81F, 0x2B920, 0x2CEAF, 0x2F800, 0x2FA1F,
    ]

    /// Size of the directly indexed part: planes 0-3.
    private static let tableLimit: UInt32 = 0x40000

    /// Classes of U+0000..<U+40000, built once (256 KB) from the range tables.
    private static let table: [UInt8] = {
        var flags = [UInt8](repeating: 0, count: Int(tableLimit))
        for (cls, ranges) in tables {
            var i = 0
            while i < ranges.count {
                let lo = ranges[i], hi = ranges[i + 1]
                i += 2
                guard lo < tableLimit else { continue }
                for v in lo...min(hi, tableLimit - 1) { flags[Int(v)] |= cls.rawValue }
            }
        }
        return flags
    }()

    /// Classes of `scalar` (a Unicode scalar value).
    @inline(__always)
    static func classes(of scalar: UInt32) -> CharClass {
        if scalar < tableLimit {
            return table.withUnsafeBufferPointer { CharClass(rawValue: $0[Int(scalar)]) }
        }
        return astralClasses(of: scalar)
    }

    private static func astralClasses(of scalar: UInt32) -> CharClass {
        var result: CharClass = []
        for (cls, ranges) in tables where contains(ranges, scalar) { result.insert(cls) }
        return result
    }

    /// Binary search in a flat list of sorted inclusive ranges.
    static func contains(_ ranges: [UInt32], _ v: UInt32) -> Bool {
        var lo = 0, hi = ranges.count / 2  // search range index
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[2 * mid + 1] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count / 2 && ranges[2 * lo] <= v
    }
}

/// Minimal UTF-8 decoding over borrowed bytes (input comes from Swift `String`s, so it is
/// always valid UTF-8).
enum UTF8Decoding {
    /// Decodes the scalar starting at `i`; returns it and its length in bytes.
    @inline(__always)
    static func decode(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (scalar: UInt32, length: Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12
                | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F), 4)
    }

    /// Appends the UTF-8 encoding of `scalar` to `bytes`.
    @inline(__always)
    static func append(_ scalar: UInt32, to bytes: inout [UInt8]) {
        if scalar < 0x80 {
            bytes.append(UInt8(scalar))
        } else if scalar < 0x800 {
            bytes.append(UInt8(0xC0 | scalar >> 6))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        } else if scalar < 0x10000 {
            bytes.append(UInt8(0xE0 | scalar >> 12))
            bytes.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        } else {
            bytes.append(UInt8(0xF0 | scalar >> 18))
            bytes.append(UInt8(0x80 | (scalar >> 12) & 0x3F))
            bytes.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// True if `byte` starts a scalar (is not a continuation byte).
    @inline(__always)
    static func isLead(_ byte: UInt8) -> Bool { byte & 0xC0 != 0x80 }
}
