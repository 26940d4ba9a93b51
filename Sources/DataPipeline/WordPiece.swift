/// The WordPiece model (BERT): greedy longest-match-first over a vocabulary, with
/// continuation pieces marked by a prefix (`##`), exactly as Hugging Face tokenizers'
/// `models::wordpiece::WordPiece::tokenize`.
///
/// - A word of more than `maxInputCharsPerWord` Unicode scalars becomes `[UNK]`.
/// - Otherwise, from the start of the word, the longest vocabulary entry that is a prefix
///   of the rest is taken (with the continuation prefix for every piece but the first);
///   candidate ends move back one scalar at a time. If some position has no match at all
///   the whole word becomes a single `[UNK]`.
struct WordPieceModel: Sendable {
    /// Every vocabulary entry, keyed by its full UTF-8 bytes.
    let vocabulary: ByteStringTable<Int32>
    /// Entries that start with the continuation prefix, keyed by the bytes after it.
    let continuations: ByteStringTable<Int32>
    let unknownID: Int32
    let continuingSubwordPrefix: String
    let maxInputCharsPerWord: Int

    /// - Parameter tokens: token strings with their ids (a later duplicate wins).
    init(tokens: [(String, Int32)], unknownToken: String, continuingSubwordPrefix: String = "##",
         maxInputCharsPerWord: Int = 100) throws {
        var vocabulary = ByteStringTable<Int32>(minimumCapacity: tokens.count)
        var continuations = ByteStringTable<Int32>(minimumCapacity: tokens.count / 4)
        let prefix = Array(continuingSubwordPrefix.utf8)
        for (token, id) in tokens {
            let bytes = Array(token.utf8)
            vocabulary.insert(bytes, value: id)
            if !prefix.isEmpty && bytes.count >= prefix.count && bytes.starts(with: prefix) {
                continuations.insert(Array(bytes[prefix.count...]), value: id)
            }
        }
        guard let unk = vocabulary.value(for: Array(unknownToken.utf8)) else {
            throw VocabularyIssue.missingToken(unknownToken)
        }
        self.vocabulary = vocabulary
        self.continuations = continuations
        self.unknownID = unk
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Appends the ids of one pre-tokenized word (UTF-8 bytes, non-empty).
    func tokenize(_ word: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        // Count scalars, stopping early once the limit is exceeded.
        var scalars = 0
        for b in word where UTF8Decoding.isLead(b) {
            scalars += 1
            if scalars > maxInputCharsPerWord {
                ids.append(unknownID)
                return
            }
        }
        let firstNew = ids.count
        let n = word.count
        var start = 0
        while start < n {
            var end = n
            var found: Int32? = nil
            let table = start == 0 ? vocabulary : continuations
            while start < end {
                let piece = UnsafeBufferPointer(rebasing: word[start..<end])
                if let id = table.value(for: piece) {
                    found = id
                    break
                }
                // Move `end` back by one scalar.
                end -= 1
                while end > start && !UTF8Decoding.isLead(word[end]) { end -= 1 }
            }
            guard let id = found else {
                ids.removeSubrange(firstNew...)
                ids.append(unknownID)
                return
            }
            ids.append(id)
            start = end
        }
    }
}

/// A problem with a vocabulary, reported by the loaders as a `TokenizerError` naming the file.
enum VocabularyIssue: Error {
    case missingToken(String)
    case malformed(String)
}
