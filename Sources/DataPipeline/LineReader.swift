import Foundation

/// Reads a text file line by line in fixed-size chunks, so memory stays bounded by the chunk
/// and the longest line, whatever the file's size.
///
/// Each line is checked as it is read: a line longer than `maxLineBytes` (a 10 MB line in a
/// TSV is a corrupt file, not data) and a line that is not valid UTF-8 are `DataError`s naming
/// the file and line. A UTF-8 byte-order mark at the start is dropped; "\r\n" endings lose the
/// "\r"; a last line without "\n" is still a line (a truncated file shows up as that line's
/// problem — too few columns, say — in the reader above).
public struct LineReader {
    public let file: String
    public let maxLineBytes: Int
    private let handle: UnsafeMutablePointer<FILE>
    private var buffer: [UInt8]
    private var start = 0, end = 0
    private var eof = false
    /// 1-based number of the line `next()` returned last.
    public private(set) var lineNumber = 0

    /// Opens `file`; a missing or unreadable file is a `DataError`.
    public init(file: String, maxLineBytes: Int = 1 << 20, chunkBytes: Int = 1 << 20) throws {
        guard let h = fopen(file, "rb") else {
            throw DataError(file: file, line: 0, problem: FileManager.default.fileExists(atPath: file)
                            ? "cannot read the file (\(String(cString: strerror(errno))))" : "no such file")
        }
        self.file = file
        self.maxLineBytes = maxLineBytes
        self.handle = h
        self.buffer = [UInt8](repeating: 0, count: max(chunkBytes, 4096))
    }

    /// Closes the file (also done when the reader is dropped at the end of `forEachLine`).
    public func close() { fclose(handle) }

    /// The next line as a String, or nil at the end of the file.
    public mutating func next() throws -> String? {
        var pending: [UInt8] = []   // a line spanning chunks
        while true {
            if let nl = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n")) {
                let piece = buffer[start..<nl]
                start = nl + 1
                if pending.isEmpty { return try finish(piece) }
                pending += piece
                return try finish(pending[...])
            }
            pending += buffer[start..<end]
            start = end
            if pending.count > maxLineBytes { try skipRestOfLine(); throw tooLong() }
            if eof { return pending.isEmpty ? nil : try finish(pending[...]) }
            end = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            start = 0
            if end == 0 {
                eof = true
                if ferror(handle) != 0 { throw DataError(file: file, line: 0, problem: "read error after line \(lineNumber)") }
            }
        }
    }

    /// Drops the bytes up to and including the next newline (the rest of an over-long line),
    /// so that reading can go on after it (`--skip-bad`).
    private mutating func skipRestOfLine() throws {
        while true {
            if let nl = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n")) { start = nl + 1; break }
            start = end
            if eof { break }
            end = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            start = 0
            if end == 0 { eof = true; break }
        }
        lineNumber += 1
    }

    /// Whether `error` is about one line (over-long or not UTF-8), after which reading can go on.
    public static func isLineProblem(_ error: DataError) -> Bool {
        error.line > 0 && (error.problem == "not valid UTF-8" || error.problem.hasPrefix("line longer than"))
    }

    private mutating func finish(_ bytes: ArraySlice<UInt8>) throws -> String {
        lineNumber += 1
        var b = bytes
        if b.count > maxLineBytes { throw tooLong() }
        if lineNumber == 1, b.starts(with: [0xEF, 0xBB, 0xBF]) { b = b.dropFirst(3) }
        if b.last == UInt8(ascii: "\r") { b = b.dropLast() }
        guard let s = String(validating: b, as: UTF8.self) else {
            throw DataError(file: file, line: lineNumber, problem: "not valid UTF-8")
        }
        return s
    }

    private func tooLong() -> DataError {
        DataError(file: file, line: lineNumber, problem: "line longer than \(maxLineBytes) bytes — not a text row (corrupted file?)")
    }

    /// Calls `body` with every line and its 1-based number.
    public static func forEachLine(of file: String, maxLineBytes: Int = 1 << 20, _ body: (String, Int) throws -> Void) throws {
        var r = try LineReader(file: file, maxLineBytes: maxLineBytes)
        defer { r.close() }
        while let line = try r.next() { try body(line, r.lineNumber) }
    }
}
