import Foundation
import Testing
@testable import DataPipeline

/// Hand-computed byte-level BPE and GPT-2 pre-tokenizer cases.
@Suite("Byte-level BPE by hand")
struct ByteLevelBPETests {
    /// Three merges: l+o → lo (rank 0), lo+w → low (rank 1), e+r → er (rank 2).
    static func make() throws -> Tokenizer {
        try Tokenizer.byteLevelBPE(
            vocabulary: ["<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "l": 4, "o": 5, "w": 6, "e": 7, "r": 8,
                         "Ġ": 9, "lo": 10, "low": 11, "er": 12],
            merges: [("l", "o"), ("lo", "w"), ("e", "r")])
    }

    @Test("merges apply by rank", arguments: [
        ("lower", [11, 12] as [Int32]),      // l o w e r → lo w e r → low e r → low er
        ("low lower", [11, 9, 11, 12]),      // " lower" is Ġ l o w e r; no Ġ+low merge
        ("rer", [8, 12]),
        ("lz", [4]),                         // no byte token for "z" and no unk: dropped (as tokenizers)
        ("", []),
    ])
    func merges(text: String, expected: [Int32]) throws {
        #expect(try Self.make().tokenize(text) == expected)
    }

    @Test("RoBERTa template: <s> A </s></s> B </s>, all type ids 0")
    func template() throws {
        let tokenizer = try Self.make()
        #expect(tokenizer.specialTokenIDs == SpecialTokenIDs(pad: 1, cls: 0, sep: 2, unk: 3, mask: nil))
        #expect(tokenizer.encode("lower") == Encoding(inputIDs: [0, 11, 12, 2], tokenTypeIDs: [0, 0, 0, 0]))
        #expect(tokenizer.encode("low", "er") == Encoding(inputIDs: [0, 11, 2, 2, 12, 2], tokenTypeIDs: [0, 0, 0, 0, 0, 0]))
        #expect(tokenizer.encode("lower", "lower", maxLength: 6) == Encoding(inputIDs: [0, 11, 2, 2, 11, 2], tokenTypeIDs: [0, 0, 0, 0, 0, 0]))
        #expect(tokenizer.tokenize("low<s>low </s>") == [11, 0, 11, 9, 2])
    }

    @Test("bytes_to_unicode is GPT-2's")
    func alphabet() {
        #expect(ByteLevelAlphabet.token(for: Array(" the".utf8)) == "Ġthe")
        #expect(ByteLevelAlphabet.token(for: [0x0A, 0x09, 0x00, 0x7F, 0xAD, 0xFF]) == "Ċĉ\u{100}\u{121}\u{143}ÿ")
        #expect(ByteLevelAlphabet.bytes(of: "Ã©") == [0xC3, 0xA9])
        #expect(ByteLevelAlphabet.bytes(of: "a b") == nil)
        #expect(Set(ByteLevelAlphabet.scalarForByte).count == 256)
    }

    /// Expected pieces verified against tokenizers' ByteLevel(add_prefix_space=False).
    @Test("GPT-2 pre-tokenizer scanner", arguments: [
        ("Hello world", ["Hello", " world"]),
        ("it's", ["it", "'s"]),
        ("a  b", ["a", " ", " b"]),
        ("a \n b", ["a", " \n", " b"]),
        ("  ", ["  "]),
        ("x!!!y", ["x", "!!!", "y"]),
        (" 123abc", [" 123", "abc"]),
        ("don't'll 'RE 're", ["don", "'t", "'ll", " '", "RE", " '", "re"]),
        ("a\tb", ["a", "\t", "b"]),
        ("end  ", ["end", "  "]),
        ("\n\nx", ["\n", "\n", "x"]),
        ("é€ 中文", ["é", "€", " 中文"]),
        ("'s'", ["'s", "'"]),
        (" 'x", [" '", "x"]),
    ])
    func preTokenizer(text: String, expected: [String]) {
        var pieces: [String] = []
        var ends: [Int] = []
        var scratch = GPT2PreTokenizer.Scratch()
        var copy = text
        copy.withUTF8 { buffer in
            GPT2PreTokenizer.split(buffer, ends: &ends, scratch: &scratch)
            var start = 0
            for end in ends {
                pieces.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self))
                start = end
            }
        }
        #expect(pieces == expected)
    }
}
