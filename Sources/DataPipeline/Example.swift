/// One raw example before tokenization.
public struct Example: Sendable, Equatable {
    /// First (or only) text.
    public var textA: String
    /// Second text of a pair, nil for single-sentence tasks.
    public var textB: String?
    /// The target: a class id (stored as Float exactly, e.g. 2.0) or a regression score.
    /// `nil` when the split has no labels (GLUE test files).
    public var label: Float?
    /// 1-based line in the source file, for messages.
    public var line: Int

    public init(textA: String, textB: String? = nil, label: Float?, line: Int) {
        self.textA = textA
        self.textB = textB
        self.label = label
        self.line = line
    }
}

/// A row that could not be read, naming the file, line and problem.
public struct DataError: Error, CustomStringConvertible, Sendable {
    public let file: String
    /// 1-based line number, or 0 when the problem is the whole file.
    public let line: Int
    public let problem: String

    public init(file: String, line: Int, problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    public var description: String { line > 0 ? "\(file):\(line): \(problem)" : "\(file): \(problem)" }
}

/// The rows of a file, plus the malformed rows that were skipped (`skipBad: true`).
public struct ReadResult: Sendable {
    public var examples: [Example]
    public var skipped: [DataError]
}
