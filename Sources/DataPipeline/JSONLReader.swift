import Foundation

/// Reads JSON Lines for data that is not GLUE: one object per line with named fields.
///
/// ```
/// {"premise": "A man sleeps.", "hypothesis": "Someone rests.", "label": "entailment"}
/// ```
/// `textField` is required; `pairField` optional; `labelField` may hold a number (class id or
/// score) or a string looked up in `labelNames`. A missing label field reads as unlabelled.
public struct JSONLReader: Sendable {
    public var textField: String
    public var pairField: String?
    public var labelField: String
    /// Class names in id order, for string labels (empty: labels must be numbers).
    public var labelNames: [String]

    public init(textField: String = "text", pairField: String? = nil, labelField: String = "label", labelNames: [String] = []) {
        self.textField = textField
        self.pairField = pairField
        self.labelField = labelField
        self.labelNames = labelNames
    }

    public func read(file: String, skipBad: Bool = false) throws -> ReadResult {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DataError(file: file, line: 0, problem: FileManager.default.fileExists(atPath: file) ? "cannot read the file" : "no such file")
        }
        var examples: [Example] = []
        var skipped: [DataError] = []
        var lineNo = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNo += 1
            if raw.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            do {
                examples.append(try parse(Data(raw), file: file, line: lineNo))
            } catch let e as DataError {
                if skipBad { skipped.append(e) } else { throw e }
            }
        }
        return ReadResult(examples: examples, skipped: skipped)
    }

    func parse(_ raw: Data, file: String, line: Int) throws -> Example {
        let obj: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: raw) as? [String: Any] else {
                throw DataError(file: file, line: line, problem: "not a JSON object")
            }
            obj = o
        } catch let e as DataError { throw e } catch {
            throw DataError(file: file, line: line, problem: "invalid JSON")
        }
        guard let a = obj[textField] as? String, !a.isEmpty else {
            throw DataError(file: file, line: line, problem: "missing or empty string field \"\(textField)\"")
        }
        var b: String? = nil
        if let pairField {
            guard let s = obj[pairField] as? String else {
                throw DataError(file: file, line: line, problem: "missing string field \"\(pairField)\"")
            }
            b = s
        }
        var label: Float? = nil
        switch obj[labelField] {
        case nil, is NSNull: label = nil
        case let n as NSNumber:
            label = n.floatValue
        case let s as String:
            guard let i = labelNames.firstIndex(of: s) else {
                throw DataError(file: file, line: line, problem: "label \"\(s)\" is not one of [\(labelNames.joined(separator: ", "))]")
            }
            label = Float(i)
        default:
            throw DataError(file: file, line: line, problem: "field \"\(labelField)\" is neither a number nor a string")
        }
        return Example(textA: a, textB: b, label: label, line: line)
    }
}
