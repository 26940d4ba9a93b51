import Foundation
import Testing
@testable import DataPipeline

/// Hand-written strings (accents, CJK, emoji, control characters, long words, empty input,
/// special tokens in text, truncation down to a handful of tokens) against the ids Hugging
/// Face produced for them (goldens/edge-cases.json, which holds the text too).
@Suite("Edge cases")
struct EdgeCaseTests {
    struct Case {
        var a: String
        var b: String?
        /// golden name → max_length ("0" = none) → (ids, k)
        var expected: [String: [String: (ids: [Int32], k: Int)]]
    }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: Fixtures.goldens.appendingPathComponent("edge-cases.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        return try cases.map { entry in
            var expected: [String: [String: (ids: [Int32], k: Int)]] = [:]
            for name in ["minilm", "roberta-bpe"] {
                let byLength = try #require(entry[name] as? [String: [String: Any]])
                expected[name] = try byLength.mapValues { result in
                    let ids = try #require(result["ids"] as? [Int]).map { Int32($0) }
                    return (ids, try #require(result["k"] as? Int))
                }
            }
            return Case(a: try #require(entry["a"] as? String), b: entry["b"] as? String, expected: expected)
        }
    }

    @Test("hand-written strings match Hugging Face", arguments: Fixtures.Source.allCases)
    func edgeCases(source: Fixtures.Source) throws {
        let tokenizer = try Fixtures.tokenizer(source)
        var session = tokenizer.makeSession()
        let cases = try Self.cases()
        #expect(cases.count >= 30)
        for testCase in cases {
            for (lengthKey, golden) in try #require(testCase.expected[source.goldenName]) {
                let maxLength = Int(lengthKey)! == 0 ? nil : Int(lengthKey)!
                let encoding = testCase.b.map { session.encode(testCase.a, $0, maxLength: maxLength) }
                    ?? session.encode(testCase.a, maxLength: maxLength)
                let expected = Encoding(inputIDs: golden.ids, tokenTypeIDs: (0..<golden.ids.count).map { $0 < golden.k ? 0 : 1 })
                #expect(encoding == expected, "\(source) max_length \(lengthKey): \(testCase.a.debugDescription) / \(testCase.b?.debugDescription ?? "-")")
            }
        }
    }
}
