import Foundation

/// The model input for one example: token ids with special tokens, and segment ids.
public struct Encoding: Sendable, Equatable, Hashable {
    public var inputIDs: [Int32]
    /// 0 for the first sequence (and its special tokens), 1 for the second where the
    /// model uses segments (BERT); all 0 for RoBERTa.
    public var tokenTypeIDs: [Int32]

    public init(inputIDs: [Int32], tokenTypeIDs: [Int32]) {
        precondition(inputIDs.count == tokenTypeIDs.count, "ids and type ids must have the same length")
        self.inputIDs = inputIDs
        self.tokenTypeIDs = tokenTypeIDs
    }

    public var count: Int { inputIDs.count }
}

/// Ids of the special tokens a training pipeline needs.
public struct SpecialTokenIDs: Sendable, Equatable {
    /// Padding (`[PAD]`, `<pad>`).
    public var pad: Int32
    /// First token of every encoding (`[CLS]`, `<s>`).
    public var cls: Int32
    /// Separator / end of sequence (`[SEP]`, `</s>`).
    public var sep: Int32
    /// Unknown token (`[UNK]`, `<unk>`).
    public var unk: Int32
    /// Mask token (`[MASK]`, `<mask>`), if the vocabulary has one.
    public var mask: Int32?

    public init(pad: Int32, cls: Int32, sep: Int32, unk: Int32, mask: Int32? = nil) {
        self.pad = pad
        self.cls = cls
        self.sep = sep
        self.unk = unk
        self.mask = mask
    }
}

/// A Hugging Face compatible tokenizer: BERT WordPiece, RoBERTa/GPT-2 byte-level BPE, or
/// SentencePiece Unigram (DeBERTa-v2/v3).
///
/// Load one with `Tokenizer.load(directory:)` (see Tokenizer+Loading.swift). A tokenizer
/// is immutable and `Sendable`: share one instance between threads. Each thread should
/// encode through its own `TokenizerSession` (`makeSession()`), which owns a word → ids
/// cache; `encodeBatch` does this for you. The convenience methods on `Tokenizer` itself
/// use a fresh session per call (correct, but without cache reuse across calls).
public final class Tokenizer: Sendable {
    public enum Kind: String, Sendable {
        case wordPiece
        case byteLevelBPE
        /// SentencePiece Unigram (DeBERTa-v2/v3), from tokenizer.json or spm.model.
        case unigram
    }

    enum Model: Sendable {
        case wordPiece(BasicTokenizer, WordPieceModel)
        case byteLevelBPE(addPrefixSpace: Bool, ByteLevelBPEModel)
        case unigram(UnigramPipeline)
    }

    public let kind: Kind
    public let specialTokenIDs: SpecialTokenIDs
    /// Number of ids: one past the largest id of the vocabulary and the added tokens
    /// (the embedding table size the model needs).
    public let vocabSize: Int
    /// Tokens matched literally in the input before anything else (special tokens).
    public let addedTokens: [AddedToken]
    /// The file the tokenizer was read from (tokenizer.json, vocab.txt, vocab.json or spm.model), if any.
    public let source: URL?

    let model: Model
    let matcher: AddedTokenMatcher
    let postProcessor: PostProcessor
    private let tokensByID: [String]
    private let idsByToken: [String: Int32]

    /// - Parameter vocabulary: every (token, id) of the model vocabulary, for lookups.
    init(model: Model, vocabulary: [(String, Int32)], addedTokens: [AddedToken],
         postProcessor: PostProcessor, specialTokenIDs: SpecialTokenIDs, source: URL?) {
        switch model {
        case .wordPiece: kind = .wordPiece
        case .byteLevelBPE: kind = .byteLevelBPE
        case .unigram: kind = .unigram
        }
        self.model = model
        self.addedTokens = addedTokens
        self.matcher = AddedTokenMatcher(addedTokens)
        self.postProcessor = postProcessor
        self.specialTokenIDs = specialTokenIDs
        self.source = source
        let all = vocabulary + addedTokens.map { ($0.content, $0.id) }
        let size = Int(all.map(\.1).max() ?? -1) + 1
        var byID = [String](repeating: "", count: size)
        var byToken: [String: Int32] = [:]
        byToken.reserveCapacity(all.count)
        for (token, id) in all {
            byID[Int(id)] = token
            byToken[token] = id
        }
        vocabSize = size
        tokensByID = byID
        idsByToken = byToken
    }

    /// The id of a token string as written in the vocabulary (`"##ing"`, `"Ġthe"`).
    public func id(forToken token: String) -> Int32? { idsByToken[token] }

    /// The vocabulary string of an id, or nil if the id is unused or out of range.
    public func token(forID id: Int32) -> String? {
        guard id >= 0, Int(id) < tokensByID.count, !tokensByID[Int(id)].isEmpty else { return nil }
        return tokensByID[Int(id)]
    }

    /// Number of special tokens added around one sequence or a pair.
    public func specialTokenCount(pair: Bool) -> Int { postProcessor.addedTokenCount(pair: pair) }

    /// A per-thread encoder with its own cache.
    public func makeSession() -> TokenizerSession { TokenizerSession(tokenizer: self) }

    /// Token ids of `text` without special tokens and without truncation.
    public func tokenize(_ text: String) -> [Int32] {
        var session = makeSession()
        return session.tokenize(text)
    }

    /// `[CLS] text [SEP]` (BERT) or `<s> text </s>` (RoBERTa), truncated so that the total
    /// length, special tokens included, is at most `maxLength` (no truncation if nil).
    public func encode(_ text: String, maxLength: Int? = nil) -> Encoding {
        var session = makeSession()
        return session.encode(text, maxLength: maxLength)
    }

    /// A sentence pair, truncated `longest_first` to `maxLength` total tokens, as Hugging
    /// Face `tokenizer(first, second, truncation=True, max_length=maxLength)`.
    public func encode(_ first: String, _ second: String, maxLength: Int? = nil) -> Encoding {
        var session = makeSession()
        return session.encode(first, second, maxLength: maxLength)
    }
}
