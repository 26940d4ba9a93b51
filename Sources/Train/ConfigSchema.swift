import Model

/// One configuration key: its dotted name, type, default, valid range and meaning. Each
/// section type of `TrainConfig` declares its keys next to its properties; `ConfigSchema`
/// collects them for validation, "did you mean" hints and `dcft train --list-keys`.
public struct ConfigField: Sendable {
    public enum Kind: Sendable, Equatable {
        case string, int, double, bool, strings
        case choice([String])

        var label: String {
            switch self {
            case .string: return "string"
            case .int: return "integer"
            case .double: return "number"
            case .bool: return "bool"
            case .strings: return "list of strings"
            case .choice(let c): return c.joined(separator: "|")
            }
        }
    }

    public let name: String
    public let kind: Kind
    /// The default as YAML text ("" = no default: required).
    public let defaultValue: String
    /// Valid values of a number key (nil: any).
    public let range: ClosedRange<Double>?
    public let doc: String

    public init(_ name: String, _ kind: Kind, _ defaultValue: String, range: ClosedRange<Double>? = nil, _ doc: String) {
        self.name = name; self.kind = kind; self.defaultValue = defaultValue; self.range = range; self.doc = doc
    }

    /// "1...", "0...1" or "" for the reference table.
    var rangeLabel: String {
        guard let r = range else { return "" }
        func f(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
        if r.upperBound == .greatestFiniteMagnitude { return "≥ \(f(r.lowerBound))" }
        return "\(f(r.lowerBound))…\(f(r.upperBound))"
    }
}

/// A section of the configuration (a YAML mapping such as `train:`), decoded into a typed struct.
public protocol ConfigSection: Decodable, Sendable {
    /// The section's keys, with full dotted names ("train.lr").
    static var fields: [ConfigField] { get }
}

/// Every configuration key `dcft train` accepts, collected from the section types (and, for
/// `adapter.*`, from the registered adapter methods' fields). The loader validates against it,
/// `--set` overrides go through it, unknown keys get the closest valid name, and
/// `dcft train --list-keys` prints it (docs/CONFIGURATION.md is that output).
public enum ConfigSchema {
    /// All keys in reference order. Computed on each use so adapters registered at run time appear.
    public static var keys: [ConfigField] {
        TrainConfig.topLevelFields + DataSection.fields + AdapterSection.fields + HeadSection.fields
            + TrainSection.fields + EvalSection.fields + CheckpointSection.fields + LogSection.fields
    }

    public static var byName: [String: ConfigField] { Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) }) }

    /// The valid key closest to `name` (edit distance), for "did you mean" messages.
    public static func closest(to name: String) -> String? {
        keys.map(\.name).min { editDistance($0, name) < editDistance($1, name) }
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var prev = Array(0...b.count), cur = prev
        for i in 1...a.count {
            cur[0] = i
            if !b.isEmpty {
                for j in 1...b.count {
                    cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    /// The reference table as Markdown.
    public static var markdown: String {
        var s = "| key | type | default | range | meaning |\n|---|---|---|---|---|\n"
        for k in keys {
            s += "| `\(k.name)` | \(k.kind.label) | `\(k.defaultValue.isEmpty ? "—" : k.defaultValue)` | \(k.rangeLabel) | \(k.doc) |\n"
        }
        return s
    }
}
