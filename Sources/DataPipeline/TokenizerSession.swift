import Foundation

/// A word → ids cache for one session: keys are the bytes of a pre-tokenized word, values
/// a slice of one shared id array. Words longer than `maxWordBytes` are not cached; the
/// cache is cleared when it grows past its limits (about 100 MB at most).
struct WordCache {
    private var table = ByteStringTable<UInt64>(minimumCapacity: 4096)
    private var ids: [Int32] = []
    static let maxWordBytes = 256
    static let maxWords = 1 << 19
    static let maxIDs = 1 << 22
    static let maxKeyBytes = 1 << 25

    /// Appends the ids of `word` to `out`, computing them with `compute` on a miss.
    @inline(__always)
    mutating func append(_ word: UnsafeBufferPointer<UInt8>, to out: inout [Int32],
                         compute: (UnsafeBufferPointer<UInt8>, inout [Int32]) -> Void) {
        if let slice = table.value(for: word) {
            let start = Int(slice >> 32), count = Int(slice & 0xFFFF_FFFF)
            ids.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<(start + count)])) }
            return
        }
        let before = out.count
        compute(word, &out)
        if word.count > Self.maxWordBytes { return }
        if table.count >= Self.maxWords || ids.count >= Self.maxIDs || table.arenaBytes >= Self.maxKeyBytes {
            table.removeAll()
            ids.removeAll(keepingCapacity: true)
        }
        let start = ids.count
        ids.append(contentsOf: out[before...])
        table.insert(word, value: UInt64(start) << 32 | UInt64(out.count - before))
    }
}

/// Encodes text with one `Tokenizer`, reusing scratch buffers and a word → ids cache.
///
/// A session is a value owned by one thread; make one per worker (`Tokenizer.makeSession()`)
/// and the tokenizer itself can be shared. Results never depend on the cache state.
public struct TokenizerSession {
    public let tokenizer: Tokenizer
    private var cache = WordCache()
    private var words = WordList()
    private var run: [UInt32] = []
    private var pieceEnds: [Int] = []
    private var preTokenizerScratch = GPT2PreTokenizer.Scratch()
    private var segments: [AddedTokenMatcher.Segment] = []
    private var unigramScratch = UnigramPipeline.Scratch()

    init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// Token ids of `text` without special tokens and without truncation.
    public mutating func tokenize(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        append(text, to: &ids)
        return ids
    }

    /// See `Tokenizer.encode(_:maxLength:)`.
    public mutating func encode(_ text: String, maxLength: Int? = nil) -> Encoding {
        tokenizer.postProcessor.encode(tokenize(text), nil, maxLength: maxLength)
    }

    /// See `Tokenizer.encode(_:_:maxLength:)`.
    public mutating func encode(_ first: String, _ second: String, maxLength: Int? = nil) -> Encoding {
        let a = tokenize(first)
        let b = tokenize(second)
        return tokenizer.postProcessor.encode(a, b, maxLength: maxLength)
    }

    /// Appends the ids of `text` (no special tokens) to `ids`.
    public mutating func append(_ text: String, to ids: inout [Int32]) {
        var text = text
        let tokenizer = self.tokenizer
        text.withUTF8 { buffer in
            if tokenizer.matcher.cannotMatch(buffer) {
                Self.appendModelTokens(buffer, atStart: true, tokenizer: tokenizer, ids: &ids, cache: &cache, words: &words,
                                       run: &run, pieceEnds: &pieceEnds, scratch: &preTokenizerScratch,
                                       unigram: &unigramScratch)
                return
            }
            segments.removeAll(keepingCapacity: true)
            tokenizer.matcher.split(buffer, into: &segments)
            for segment in segments {
                switch segment {
                case .token(let id):
                    ids.append(id)
                case .text(let range):
                    Self.appendModelTokens(UnsafeBufferPointer(rebasing: buffer[range]), atStart: range.lowerBound == 0,
                                           tokenizer: tokenizer, ids: &ids, cache: &cache, words: &words, run: &run,
                                           pieceEnds: &pieceEnds, scratch: &preTokenizerScratch,
                                           unigram: &unigramScratch)
                }
            }
        }
    }

    /// Normalizer, pre-tokenizer and model on a span of text without added tokens.
    private static func appendModelTokens(
        _ text: UnsafeBufferPointer<UInt8>, atStart: Bool, tokenizer: Tokenizer, ids: inout [Int32],
        cache: inout WordCache, words: inout WordList, run: inout [UInt32],
        pieceEnds: inout [Int], scratch: inout GPT2PreTokenizer.Scratch, unigram: inout UnigramPipeline.Scratch
    ) {
        switch tokenizer.model {
        case .wordPiece(let basic, let wordPiece):
            words.reset()
            basic.split(text, into: &words, run: &run)
            var start = 0
            words.bytes.withUnsafeBufferPointer { bytes in
                for end in words.ends {
                    cache.append(UnsafeBufferPointer(rebasing: bytes[start..<end]), to: &ids) {
                        wordPiece.tokenize($0, into: &$1)
                    }
                    start = end
                }
            }
        case .byteLevelBPE(let addPrefixSpace, let bpe):
            if addPrefixSpace && text.first != 0x20 {
                let prefixed = [0x20] + Array(text)
                prefixed.withUnsafeBufferPointer { prefixed in
                    appendPieces(prefixed, bpe: bpe, ids: &ids, cache: &cache, pieceEnds: &pieceEnds, scratch: &scratch)
                }
            } else {
                appendPieces(text, bpe: bpe, ids: &ids, cache: &cache, pieceEnds: &pieceEnds, scratch: &scratch)
            }
        case .unigram(let pipeline):
            pipeline.append(text, atStart: atStart, to: &ids, cache: &cache, scratch: &unigram)
        }
    }

    private static func appendPieces(
        _ text: UnsafeBufferPointer<UInt8>, bpe: ByteLevelBPEModel, ids: inout [Int32],
        cache: inout WordCache, pieceEnds: inout [Int], scratch: inout GPT2PreTokenizer.Scratch
    ) {
        pieceEnds.removeAll(keepingCapacity: true)
        GPT2PreTokenizer.split(text, ends: &pieceEnds, scratch: &scratch)
        var start = 0
        for end in pieceEnds {
            cache.append(UnsafeBufferPointer(rebasing: text[start..<end]), to: &ids) {
                bpe.tokenize($0, into: &$1)
            }
            start = end
        }
    }
}

// MARK: - Batch encoding

extension Tokenizer {
    /// Default worker count for batch encoding: the active processor count.
    public static var defaultThreadCount: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Encodes single sequences on `threads` threads (one session, hence one cache, per
    /// thread). The result is in input order and identical to encoding one by one.
    public func encodeBatch(_ texts: [String], maxLength: Int? = nil,
                            threads: Int = Tokenizer.defaultThreadCount) -> [Encoding] {
        parallelMap(count: texts.count, threads: threads) { session, i in
            session.encode(texts[i], maxLength: maxLength)
        }
    }

    /// Encodes sentence pairs (`first[i]`, `second[i]`) with `longest_first` truncation.
    public func encodeBatch(_ first: [String], _ second: [String], maxLength: Int? = nil,
                            threads: Int = Tokenizer.defaultThreadCount) -> [Encoding] {
        precondition(first.count == second.count, "encodeBatch: \(first.count) first sentences but \(second.count) second")
        return parallelMap(count: first.count, threads: threads) { session, i in
            session.encode(first[i], second[i], maxLength: maxLength)
        }
    }

    /// Runs `body` for indices 0..<count on up to `threads` workers. Work is dealt out in
    /// blocks of 256 indices, round robin, so every worker gets a similar mix.
    func parallelMap<T>(count: Int, threads: Int, _ body: (inout TokenizerSession, Int) -> T) -> [T] {
        let block = 256
        let blocks = (count + block - 1) / block
        let workers = max(1, min(threads, blocks))
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = buffer.baseAddress
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var session = makeSession()
                var b = worker
                while b < blocks {
                    for i in (b * block)..<min(count, (b + 1) * block) {
                        (base! + i).initialize(to: body(&session, i))
                    }
                    b += workers
                }
            }
            initialized = count
        }
    }
}
