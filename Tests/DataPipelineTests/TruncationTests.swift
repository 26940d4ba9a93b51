import Foundation
import Testing
@testable import DataPipeline

/// `longest_first` truncation lengths, including the table from tokenizers' own unit test
/// (utils/truncation.rs, max_length 7, sequences of 0, 2, 4 and 8 tokens).
@Suite("Truncation")
struct TruncationTests {
    @Test("tokenizers' truncate_encodings_longest_first table")
    func huggingFaceTable() {
        let cases: [(Int, Int, Int, Int)] = [
            (0, 0, 0, 0), (0, 2, 0, 2), (0, 4, 0, 4), (0, 8, 0, 7),
            (2, 0, 2, 0), (2, 2, 2, 2), (2, 4, 2, 4), (2, 8, 2, 5),
            (4, 0, 4, 0), (4, 2, 4, 2), (4, 4, 3, 4), (4, 8, 3, 4),
            (8, 0, 7, 0), (8, 2, 5, 2), (8, 4, 4, 3), (8, 8, 3, 4),
        ]
        for (a, b, n1, n2) in cases {
            let result = PostProcessor.longestFirst(a, b, budget: 7)
            #expect(result.0 == n1 && result.1 == n2, "(\(a), \(b)) → \(result), expected (\(n1), \(n2))")
        }
        #expect(PostProcessor.longestFirst(5, 9, budget: 0) == (0, 0))
    }

    @Test("encodings never exceed max_length and keep special tokens", arguments: [4, 5, 6, 9, 16])
    func lengths(maxLength: Int) throws {
        let tokenizer = try Fixtures.tokenizer(.minilmJSON)
        let long = String(repeating: "token ", count: 40)
        for (a, b) in [(long, long), (long, "x"), ("x", long), ("", long)] {
            let encoding = tokenizer.encode(a, b, maxLength: maxLength)
            #expect(encoding.count == min(maxLength, tokenizer.encode(a, b).count))
            #expect(encoding.inputIDs.first == 101 && encoding.inputIDs.last == 102)
            #expect(encoding.inputIDs.filter { $0 == 102 }.count == 2)
        }
        #expect(tokenizer.encode(long, maxLength: maxLength).count == maxLength)
    }

    @Test("max_length below the special-token count keeps only the special tokens")
    func tooShort() throws {
        let tokenizer = try Fixtures.tokenizer(.robertaJSON)
        #expect(tokenizer.encode("a b c", "d e f", maxLength: 2).inputIDs == [0, 2, 2, 2])
    }
}
