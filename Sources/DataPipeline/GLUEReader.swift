import Foundation

/// Reads GLUE TSV files (tab-separated, no quoting, one example per line, UTF-8; MRPC starts
/// with a byte-order mark) into `Example`s.
///
/// A malformed row (too few columns, empty text, unknown label, unparsable score) throws a
/// `DataError` naming the file, line and problem, or with `skipBad` is collected in
/// `ReadResult.skipped` and left out. A split without the label column (GLUE test files)
/// reads with `label == nil`.
public enum GLUEReader {
    /// Reads the whole file (small files, tests); `forEachBatch` streams.
    public static func read(task: GLUETask, file: String, skipBad: Bool = false) throws -> ReadResult {
        var all = ReadResult(examples: [], skipped: [])
        try forEachBatch(task: task, file: file, skipBad: skipBad) { examples, skipped in
            all.examples += examples; all.skipped += skipped
        }
        return all
    }

    /// Streams `file` through `body` in batches of at most `batchSize` examples, with the rows
    /// skipped (`skipBad`) since the previous batch. Memory is bounded by one batch and one
    /// chunk of the file (`LineReader`), so a file of any size can be prepared.
    public static func forEachBatch(task: GLUETask, file: String, skipBad: Bool = false, batchSize: Int = 8192,
                                    _ body: (_ examples: [Example], _ skipped: [DataError]) throws -> Void) throws {
        var reader = try LineReader(file: file)
        defer { reader.close() }
        var plan: Columns?
        var examples: [Example] = [], skipped: [DataError] = []
        examples.reserveCapacity(batchSize)
        while true {
            let line: String
            do {
                guard let l = try reader.next() else { break }
                line = l
            } catch let e as DataError where skipBad && LineReader.isLineProblem(e) {
                skipped.append(e); continue
            }
            if plan == nil {
                plan = try Columns(task: task, header: line, file: file)
                if plan!.headerLines == 1 { continue }
            }
            if line.isEmpty { continue }
            try row(line, reader.lineNumber)
            if examples.count == batchSize {
                try body(examples, skipped)
                examples.removeAll(keepingCapacity: true); skipped.removeAll()
            }
        }
        if plan == nil, case .named = task.layout { throw DataError(file: file, line: 0, problem: "empty file") }
        if !examples.isEmpty || !skipped.isEmpty { try body(examples, skipped) }

        func row(_ line: String, _ lineNo: Int) throws {
            do { examples.append(try plan!.example(line, lineNo, task: task, file: file)) } catch let e as DataError {
                if skipBad { skipped.append(e) } else { throw e }
            }
        }
    }

    /// Where a task's fields are: from the header (named layouts) or fixed positions.
    struct Columns {
        let a: Int, b: Int?, label: Int?, minColumns: Int, headerLines: Int
        /// The header's column names (empty for positional layouts).
        var names: [String] = []
        /// The task's label names, looked up once rather than per row.
        var labelNames: [String] = []

        init(task: GLUETask, header: String, file: String) throws {
            labelNames = task.labelNames
            switch task.layout {
            case let .positional(a, b, l, n):
                (self.a, self.b, self.label, minColumns, headerLines) = (a, b, l, n, 0)
            case let .named(a, b, l):
                let names = header.split(separator: "\t", omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                func index(_ name: String) throws -> Int {
                    guard let i = names.firstIndex(of: name) else {
                        throw DataError(file: file, line: 1, problem: "header has no column \"\(name)\" (found: \(names.joined(separator: ", ")))")
                    }
                    return i
                }
                let ia = try index(a)
                let ib = try b.map(index)
                let il = names.firstIndex(of: l)  // absent in test files
                (self.a, self.b, self.label, minColumns, headerLines) = (ia, ib, il, max(ia, ib ?? 0, il ?? 0) + 1, 1)
                self.names = names
            }
        }

        private func name(_ column: Int) -> String { column < names.count ? " (\(names[column]))" : "" }

        /// One row; a malformed one is a `DataError` naming the line and the field.
        func example(_ line: String, _ lineNo: Int, task: GLUETask, file: String) throws -> Example {
            // Split on the tab byte (a Character-level split costs more than tokenizing the row).
            let cols = line.utf8.split(separator: 9, omittingEmptySubsequences: false)
            guard cols.count >= minColumns else {
                throw DataError(file: file, line: lineNo, problem: "expected at least \(minColumns) tab-separated columns, found \(cols.count)")
            }
            func text(_ c: Int) -> String { String(Substring(cols[c])) }
            func blank(_ c: Int) -> Bool { cols[c].allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } }
            guard !blank(self.a) else {
                throw DataError(file: file, line: lineNo, problem: "empty text in column \(self.a + 1)\(name(self.a))")
            }
            if let col = self.b, blank(col) {
                throw DataError(file: file, line: lineNo, problem: "empty text in column \(col + 1)\(name(col))")
            }
            let label = try self.label.map { try parseLabel(text($0), task: task, labelNames: labelNames, file: file, line: lineNo) }
            return Example(textA: text(self.a), textB: self.b.map(text), label: label, line: lineNo)
        }
    }

    static func parseLabel(_ s: String, task: GLUETask, labelNames: [String]? = nil, file: String, line: Int) throws -> Float {
        let v = s.first?.isWhitespace == true || s.last?.isWhitespace == true ? s.trimmingCharacters(in: .whitespaces) : s
        if task.isRegression {
            guard let f = Float(v), f.isFinite else {
                throw DataError(file: file, line: line, problem: "score \"\(v)\" is not a number")
            }
            return f
        }
        let names = labelNames ?? task.labelNames
        if let i = names.firstIndex(of: v) { return Float(i) }
        throw DataError(file: file, line: line,
                        problem: "label \"\(v)\" is not one of \(task.labelNames.joined(separator: ", "))")
    }
}
