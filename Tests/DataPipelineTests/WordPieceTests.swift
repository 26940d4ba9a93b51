import Foundation
import Testing
@testable import DataPipeline

/// Hand-computed WordPiece cases on a tiny vocabulary, where every split can be worked
/// out on paper: greedy longest match first, "##" continuations, whole word → [UNK] when
/// any position has no match, [UNK] above 100 scalars.
@Suite("WordPiece by hand")
struct WordPieceTests {
    //                      0        1        2        3        4         5     6        7         8       9
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "play", "##ing",
    //                       10    11     12     13   14   15   16     17    18
                             "##s", "the", "##e", ",", "!", "x", "##x", "中", "##un"]

    static func make(_ normalizer: BertNormalizerOptions = BertNormalizerOptions()) throws -> Tokenizer {
        try Tokenizer.wordPiece(vocabulary: vocabulary, normalizer: normalizer)
    }

    @Test("greedy longest match with ## continuations", arguments: [
        ("unaffable", [5, 6, 7] as [Int32]),
        ("Playing", [8, 9]),                 // lower-cased first
        ("plays!", [8, 10, 14]),             // '!' is split off as punctuation
        ("the", [11]),
        ("thee", [11, 12]),
        ("then", [1]),                       // "the" then no "##n": the whole word is [UNK]
        ("unplayable", [1]),                 // "un" then no "##p…": [UNK], not "un [UNK]"
        ("unun", [5, 18]),
        ("the,the", [11, 13, 11]),
        ("the—the", [11, 1, 11]),            // U+2014 is punctuation (Pd), unknown
        ("the中the", [11, 17, 11]),          // CJK is split out
        ("the\u{0}the", [1]),                // NUL is dropped: "thethe", no "##the"
        ("the\u{200B}e", [11, 12]),          // U+200B (Cf) is dropped: "thee"
        ("the\u{00A0}the", [11, 11]),        // no-break space is whitespace
        ("plàying", [8, 9]),                 // accent stripped (NFD, drop U+0300)
        ("", []),
        (" \t\n ", []),
    ])
    func splits(text: String, expected: [Int32]) throws {
        #expect(try Self.make().tokenize(text) == expected)
    }

    @Test("max_input_chars_per_word is 100 scalars")
    func longWords() throws {
        let tokenizer = try Self.make()
        #expect(tokenizer.tokenize(String(repeating: "x", count: 100)) == [15] + [Int32](repeating: 16, count: 99))
        #expect(tokenizer.tokenize(String(repeating: "x", count: 101)) == [1])
        #expect(tokenizer.tokenize(String(repeating: "x", count: 101) + " the") == [1, 11])
    }

    @Test("normalizer options")
    func options() throws {
        let cased = try Self.make(BertNormalizerOptions(lowercase: false))
        #expect(cased.tokenize("Playing playing") == [1, 8, 9])
        #expect(cased.tokenize("plàying") == [1])  // strip_accents follows lowercase: off
        let keepAccents = try Self.make(BertNormalizerOptions(stripAccents: false, lowercase: true))
        #expect(keepAccents.tokenize("plàying") == [1])
        let stripOnly = try Self.make(BertNormalizerOptions(stripAccents: true, lowercase: false))
        #expect(stripOnly.tokenize("plàying") == [8, 9])
        let noChinese = try Self.make(BertNormalizerOptions(handleChineseChars: false))
        #expect(noChinese.tokenize("the中the") == [1])
        let noClean = try Self.make(BertNormalizerOptions(cleanText: false))
        #expect(noClean.tokenize("the\u{0}the") == [1])
        #expect(noClean.tokenize("the\u{200B}e") == [1])
    }

    @Test("special tokens in text are matched literally")
    func specialTokensInText() throws {
        let tokenizer = try Self.make()
        #expect(tokenizer.tokenize("the [MASK] the[SEP]") == [11, 4, 11, 3])
        #expect(tokenizer.tokenize("[mask]") == [1, 1, 1])  // lower case: "[", "mask", "]"
    }

    @Test("single and pair encodings with [CLS] and [SEP]")
    func encodings() throws {
        let tokenizer = try Self.make()
        #expect(tokenizer.specialTokenIDs == SpecialTokenIDs(pad: 0, cls: 2, sep: 3, unk: 1, mask: 4))
        #expect(tokenizer.vocabSize == 19)
        #expect(tokenizer.encode("unaffable") == Encoding(inputIDs: [2, 5, 6, 7, 3], tokenTypeIDs: [0, 0, 0, 0, 0]))
        #expect(tokenizer.encode("unaffable", maxLength: 4) == Encoding(inputIDs: [2, 5, 6, 3], tokenTypeIDs: [0, 0, 0, 0]))
        #expect(tokenizer.encode("unaffable", "the plays") ==
                Encoding(inputIDs: [2, 5, 6, 7, 3, 11, 8, 10, 3], tokenTypeIDs: [0, 0, 0, 0, 0, 1, 1, 1, 1]))
        // Budget 7 - 3 = 4 for 3 + 3 pieces: both halves of 2.
        #expect(tokenizer.encode("unaffable", "the plays", maxLength: 7) ==
                Encoding(inputIDs: [2, 5, 6, 3, 11, 8, 3], tokenTypeIDs: [0, 0, 0, 0, 1, 1, 1]))
        #expect(tokenizer.encode("", "") == Encoding(inputIDs: [2, 3, 3], tokenTypeIDs: [0, 0, 1]))
        #expect(tokenizer.token(forID: 6) == "##aff")
        #expect(tokenizer.id(forToken: "##able") == 7)
    }
}
