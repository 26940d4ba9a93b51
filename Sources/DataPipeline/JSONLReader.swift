import Foundation

/// Reads JSON Lines for data that is not GLUE: one object per line with named fields.
///
/// ```
/// {"premise": "A man sleeps.", "hypothesis": "Someone rests.", "label": "entailment"}
/// ```
/// `textField` is required; `pairField` optional; `labelField` may hold a number (class id or
/// score) or a string looked up in `labelNames`. A missing label field reads as unlabelled.
/// With `forbiddenField` set, a row that has that field is refused (a single-sentence model
/// given pairs); `why` is appended to pair-field errors to say what the model expects.
public struct JSONLReader: Sendable {
    public var textField: String
    public var pairField: String?
    public var labelField: String
    /// Class names in id order, for string labels (empty: labels must be numbers).
    public var labelNames: [String]
    /// A field no row may have (e.g. `text_pair` for a model trained on single sentences).
    public var forbiddenField: String?
    /// Context for pair errors, e.g. "the model was trained on sentence pairs (task mrpc)".
    public var why: String?

    public init(textField: String = "text", pairField: String? = nil, labelField: String = "label", labelNames: [String] = [],
                forbiddenField: String? = nil, why: String? = nil) {
        self.textField = textField
        self.pairField = pairField
        self.labelField = labelField
        self.labelNames = labelNames
        self.forbiddenField = forbiddenField
        self.why = why
    }

    /// The reader `dcft predict` uses for a model trained on `fields` (`nil`: not recorded), as
    /// recorded in `source` (the adapter file, named in errors).
    /// Options given on the command line win; a pair field for a single-sentence model is an
    /// error. Without a record and without `--pair-field`, rows with `text_pair` are refused
    /// rather than silently read as single sentences.
    public static func forPrediction(trainedOn fields: InputFields?, task: String, source: String,
                                     textOption: String?, pairOption: String?) throws -> JSONLReader {
        let noLabel = "\u{0}no label"  // predict ignores labels: a field name no JSON row has
        let taskName = task.isEmpty ? "" : " (task \(task))"
        guard let fields else {
            return JSONLReader(textField: textOption ?? "text", pairField: pairOption, labelField: noLabel,
                               forbiddenField: pairOption == nil ? "text_pair" : nil,
                               why: pairOption == nil ? "the model does not record whether it takes sentence pairs\(taskName); pass --pair-field text_pair to read pairs" : nil)
        }
        if let pair = fields.pair {
            return JSONLReader(textField: textOption ?? fields.text, pairField: pairOption ?? pair, labelField: noLabel,
                               why: "the model was trained on sentence pairs\(taskName)")
        }
        if let p = pairOption {
            throw DataError(file: source, line: 0, problem: "the model was trained on single sentences\(taskName); --pair-field \(p) does not apply")
        }
        return JSONLReader(textField: textOption ?? fields.text, labelField: noLabel, forbiddenField: "text_pair",
                           why: "the model was trained on single sentences\(taskName)")
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
        let because = why.map { ": \($0)" } ?? ""
        var b: String? = nil
        if let pairField {
            guard let s = obj[pairField] as? String else {
                throw DataError(file: file, line: line, problem: "missing string field \"\(pairField)\"\(because)")
            }
            // An empty second text is refused as the GLUE reader refuses an empty hypothesis (found by dcft-fuzz).
            guard !s.isEmpty else { throw DataError(file: file, line: line, problem: "empty string field \"\(pairField)\"") }
            b = s
        }
        if let f = forbiddenField, obj[f] != nil {
            throw DataError(file: file, line: line, problem: "field \"\(f)\" is present\(because)")
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
