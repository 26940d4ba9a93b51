import Foundation

/// Reads GLUE TSV files (tab-separated, no quoting, one example per line, UTF-8; MRPC starts
/// with a byte-order mark) into `Example`s.
///
/// A malformed row (too few columns, empty text, unknown label, unparsable score) throws a
/// `DataError` naming the file, line and problem, or with `skipBad` is collected in
/// `ReadResult.skipped` and left out. A split without the label column (GLUE test files)
/// reads with `label == nil`.
public enum GLUEReader {
    public static func read(task: GLUETask, file: String, skipBad: Bool = false) throws -> ReadResult {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DataError(file: file, line: 0, problem: FileManager.default.fileExists(atPath: file)
                            ? "cannot read the file" : "no such file")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw DataError(file: file, line: 0, problem: "not valid UTF-8")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }

        let (colA, colB, colLabel, minColumns, firstLine): (Int, Int?, Int?, Int, Int)
        switch task.layout {
        case let .positional(a, b, l, n):
            (colA, colB, colLabel, minColumns, firstLine) = (a, b, l, n, 0)
        case let .named(a, b, l):
            guard let header = lines.first else { throw DataError(file: file, line: 0, problem: "empty file") }
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
            (colA, colB, colLabel, minColumns, firstLine) = (ia, ib, il, max(ia, ib ?? 0, il ?? 0) + 1, 1)
        }

        var examples: [Example] = []
        examples.reserveCapacity(lines.count)
        var skipped: [DataError] = []
        for (i, raw) in lines.enumerated() where i >= firstLine {
            let lineNo = i + 1
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty { continue }
            do {
                let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard cols.count >= minColumns else {
                    throw DataError(file: file, line: lineNo, problem: "expected at least \(minColumns) tab-separated columns, found \(cols.count)")
                }
                let a = String(cols[colA])
                guard !a.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw DataError(file: file, line: lineNo, problem: "empty text in column \(colA + 1)")
                }
                let b = colB.map { String(cols[$0]) }
                let label = try colLabel.map { try parseLabel(String(cols[$0]), task: task, file: file, line: lineNo) }
                examples.append(Example(textA: a, textB: b, label: label, line: lineNo))
            } catch let e as DataError {
                if skipBad { skipped.append(e) } else { throw e }
            }
        }
        return ReadResult(examples: examples, skipped: skipped)
    }

    static func parseLabel(_ s: String, task: GLUETask, file: String, line: Int) throws -> Float {
        let v = s.trimmingCharacters(in: .whitespaces)
        if task.isRegression {
            guard let f = Float(v), f.isFinite else {
                throw DataError(file: file, line: line, problem: "score \"\(v)\" is not a number")
            }
            return f
        }
        if let i = task.labelNames.firstIndex(of: v) { return Float(i) }
        throw DataError(file: file, line: line,
                        problem: "label \"\(v)\" is not one of \(task.labelNames.joined(separator: ", "))")
    }
}
