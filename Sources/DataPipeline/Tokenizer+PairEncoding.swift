/// Adding special tokens and token type ids around one sequence or a pair, with
/// `longest_first` truncation, as Hugging Face tokenizers' post-processors
/// (`TemplateProcessing`, `BertProcessing`, `RobertaProcessing`) and
/// `utils::truncation::truncate_encodings`.
struct PostProcessor: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        case special([Int32], typeID: Int32)
        case first(typeID: Int32)
        case second(typeID: Int32)
    }

    /// Template for one sequence; must contain `.first` once.
    var single: [Piece]
    /// Template for a pair; must contain `.first` and `.second` once each.
    var pair: [Piece]

    /// No special tokens; the second sequence of a pair gets type id 1 (tokenizers'
    /// behaviour without a post-processor).
    static let none = PostProcessor(single: [.first(typeID: 0)], pair: [.first(typeID: 0), .second(typeID: 1)])

    /// `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]` with type ids 0…0 1…1.
    static func bert(cls: Int32, sep: Int32) -> PostProcessor {
        PostProcessor(
            single: [.special([cls], typeID: 0), .first(typeID: 0), .special([sep], typeID: 0)],
            pair: [.special([cls], typeID: 0), .first(typeID: 0), .special([sep], typeID: 0),
                   .second(typeID: 1), .special([sep], typeID: 1)])
    }

    /// `<s> A </s>` and `<s> A </s></s> B </s>`, all type ids 0.
    static func roberta(cls: Int32, sep: Int32) -> PostProcessor {
        PostProcessor(
            single: [.special([cls], typeID: 0), .first(typeID: 0), .special([sep], typeID: 0)],
            pair: [.special([cls], typeID: 0), .first(typeID: 0), .special([sep, sep], typeID: 0),
                   .second(typeID: 0), .special([sep], typeID: 0)])
    }

    func addedTokenCount(pair isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { count, piece in
            if case .special(let ids, _) = piece { return count + ids.count }
            return count
        }
    }

    /// Truncates (if `maxLength` is given) and applies the template.
    ///
    /// `maxLength` counts special tokens. If it is smaller than the number of special
    /// tokens, both sequences are dropped entirely and the result is longer than
    /// `maxLength` (Hugging Face raises an error in that case).
    func encode(_ a: [Int32], _ b: [Int32]?, maxLength: Int?) -> Encoding {
        var n1 = a.count
        var n2 = b?.count ?? 0
        if let maxLength {
            let budget = max(0, maxLength - addedTokenCount(pair: b != nil))
            if b != nil {
                (n1, n2) = Self.longestFirst(n1, n2, budget: budget)
            } else {
                n1 = min(n1, budget)
            }
            n1 = min(n1, a.count)
            n2 = min(n2, b?.count ?? 0)
        }
        let template = b == nil ? single : pair
        let total = n1 + n2 + addedTokenCount(pair: b != nil)
        var ids: [Int32] = []
        var types: [Int32] = []
        ids.reserveCapacity(total)
        types.reserveCapacity(total)
        for piece in template {
            switch piece {
            case .special(let special, let typeID):
                ids.append(contentsOf: special)
                types.append(contentsOf: repeatElement(typeID, count: special.count))
            case .first(let typeID):
                ids.append(contentsOf: a[..<n1])
                types.append(contentsOf: repeatElement(typeID, count: n1))
            case .second(let typeID):
                if let b {
                    ids.append(contentsOf: b[..<n2])
                    types.append(contentsOf: repeatElement(typeID, count: n2))
                }
            }
        }
        return Encoding(inputIDs: ids, tokenTypeIDs: types)
    }

    /// Lengths after `longest_first` truncation of a pair to `budget` tokens (special
    /// tokens already subtracted), exactly as tokenizers' `truncate_encodings`:
    /// if the shorter sequence fits in half the budget, the longer one gets the rest;
    /// otherwise each gets half and the longer one (the second, on a tie) gets the odd token.
    static func longestFirst(_ length1: Int, _ length2: Int, budget: Int) -> (Int, Int) {
        if length1 + length2 <= budget { return (length1, length2) }
        var n1 = length1, n2 = length2
        let swap = n1 > n2
        if swap { (n1, n2) = (n2, n1) }
        if n1 > budget {
            n2 = n1
        } else {
            n2 = max(n1, budget - n1)
        }
        if n1 + n2 > budget {
            n1 = budget / 2
            n2 = n1 + budget % 2
        }
        if swap { (n1, n2) = (n2, n1) }
        return (n1, n2)
    }
}
