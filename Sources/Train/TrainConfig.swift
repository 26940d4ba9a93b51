import Foundation
import Yams
import Model

/// A bad configuration: the file, the key and what is wrong (with a suggestion for typos).
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let source: String
    public let message: String
    public var description: String { "\(source): \(message)" }
}

/// The resolved configuration of a training run: schema defaults, overridden by the YAML
/// file, overridden by `--set key=value` (later wins). Keys are dotted paths into the YAML
/// ("train.lr" is `train: {lr: …}`); see `ConfigSchema` for all of them.
public struct TrainConfig: Sendable {
    /// Every key's value, typed: String, Int, Double, Bool or [String].
    public private(set) var values: [String: ConfigValue]
    /// Where the configuration came from (for messages and the checkpoint).
    public let source: String
    /// The YAML text of the resolved configuration (stored in checkpoints and logs).
    public var yaml: String {
        ConfigSchema.keys.map { k in "\(k.name): \(values[k.name]!.yaml)" }.joined(separator: "\n")
    }

    public enum ConfigValue: Sendable, Equatable {
        case string(String), int(Int), double(Double), bool(Bool), strings([String])
        var yaml: String {
            switch self {
            case .string(let s): return s.isEmpty ? "\"\"" : s
            case .int(let v): return String(v)
            case .double(let v): return String(v)
            case .bool(let v): return String(v)
            case .strings(let v): return "[" + v.joined(separator: ", ") + "]"
            }
        }
    }

    /// Loads `file` (YAML) and applies `overrides` ("key=value", the value parsed as YAML).
    public static func load(file: String?, overrides: [String] = []) throws -> TrainConfig {
        var cfg = TrainConfig(values: [:], source: file ?? "defaults")
        for k in ConfigSchema.keys where !k.defaultValue.isEmpty {
            cfg.values[k.name] = try convert(Yams.load(yaml: k.defaultValue), key: k, source: "schema")
        }
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigurationError(source: file, message: FileManager.default.fileExists(atPath: file) ? "cannot read the file" : "no such config file")
            }
            let root: Any?
            do { root = try Yams.load(yaml: text) } catch {
                throw ConfigurationError(source: file, message: "invalid YAML: \(error)")
            }
            guard let dict = root as? [String: Any] else { throw ConfigurationError(source: file, message: "the top level must be a mapping of keys") }
            for (key, value) in flatten(dict, prefix: "") { try cfg.set(key, value, source: file) }
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else {
                throw ConfigurationError(source: "--set \(o)", message: "expected key=value")
            }
            let key = String(o[..<eq]), text = String(o[o.index(after: eq)...])
            let parsed: Any? = (try? Yams.load(yaml: text)).flatMap { $0 }
            try cfg.set(key, parsed ?? text, source: "--set \(o)")
        }
        for k in ConfigSchema.keys where cfg.values[k.name] == nil {
            throw ConfigurationError(source: cfg.source, message: "required key \"\(k.name)\" is missing (\(k.doc))")
        }
        try cfg.validate()
        return cfg
    }

    static func flatten(_ d: [String: Any], prefix: String) -> [(String, Any)] {
        d.sorted { $0.key < $1.key }.flatMap { k, v -> [(String, Any)] in
            let name = prefix.isEmpty ? k : prefix + "." + k
            if let sub = v as? [String: Any] { return flatten(sub, prefix: name) }
            return [(name, v)]
        }
    }

    mutating func set(_ key: String, _ value: Any, source: String) throws {
        guard let k = ConfigSchema.byName[key] else {
            let hint = ConfigSchema.closest(to: key).map { "; did you mean \"\($0)\"?" } ?? ""
            throw ConfigurationError(source: source, message: "unknown key \"\(key)\"\(hint)")
        }
        values[key] = try Self.convert(value, key: k, source: source)
    }

    static func convert(_ v: Any?, key k: ConfigSchema.Key, source: String) throws -> ConfigValue {
        let shown = v.map { "\($0)" } ?? "nothing"
        func bad() -> ConfigurationError {
            ConfigurationError(source: source, message: "\(k.name): expected \(k.kind.label), got \(shown)")
        }
        switch k.kind {
        case .string:
            if let s = v as? String { return .string(s) }
            if let i = v as? Int { return .string(String(i)) }
            throw bad()
        case .int:
            if let i = v as? Int { return .int(i) }
            if let d = v as? Double, d == d.rounded() { return .int(Int(d)) }
            throw bad()
        case .double:
            if let d = v as? Double { return .double(d) }
            if let i = v as? Int { return .double(Double(i)) }
            if let s = v as? String, let d = Double(s) { return .double(d) }  // YAML 1.1 reads "1e-3" as a string
            throw bad()
        case .bool:
            if let b = v as? Bool { return .bool(b) }
            throw bad()
        case .strings:
            if let a = v as? [Any] { return .strings(a.map { "\($0)" }) }
            if let s = v as? String { return .strings([s]) }
            throw bad()
        case .choice(let options):
            if let s = v as? String, options.contains(s) { return .string(s) }
            throw ConfigurationError(source: source, message: "\(k.name): \(shown) is not one of \(options.joined(separator: ", "))")
        }
    }

    // MARK: typed access

    public func string(_ k: String) -> String {
        guard case .string(let s)? = values[k] else { preconditionFailure("\(k) is not a string key") }
        return s.replacingOccurrences(of: "{task}", with: (values["task"].flatMap { if case .string(let t) = $0 { return t } else { return nil } }) ?? "")
    }
    public func int(_ k: String) -> Int { guard case .int(let v)? = values[k] else { preconditionFailure("\(k) is not an int key") }; return v }
    public func double(_ k: String) -> Double { guard case .double(let v)? = values[k] else { preconditionFailure("\(k) is not a number key") }; return v }
    public func bool(_ k: String) -> Bool { guard case .bool(let v)? = values[k] else { preconditionFailure("\(k) is not a bool key") }; return v }
    public func strings(_ k: String) -> [String] {
        guard case .strings(let v)? = values[k] else { preconditionFailure("\(k) is not a list key") }
        let task = string("task")
        return v.map { $0.replacingOccurrences(of: "{task}", with: task) }
    }

    func validate() throws {
        func fail(_ m: String) -> ConfigurationError { ConfigurationError(source: source, message: m) }
        for k in ["train.batch_size", "train.accumulation", "eval.batch_size", "log.every_steps", "adapter.kernel", "adapter.lora_rank"] where int(k) < 1 {
            throw fail("\(k) must be at least 1, got \(int(k))")
        }
        if double("train.lr") <= 0 { throw fail("train.lr must be positive") }
        if double("train.epochs") <= 0 && int("train.max_steps") <= 0 { throw fail("set train.epochs or train.max_steps") }
        let bad = strings("adapter.target_modules").filter { !ModelOptions.allModules.contains($0) }
        if !bad.isEmpty { throw fail("adapter.target_modules: unknown \(bad); valid: \(ModelOptions.allModules.joined(separator: ", "))") }
        let s = int("adapter.stride")
        if s < 0 || s > int("adapter.kernel") { throw fail("adapter.stride must be in 0...adapter.kernel") }
        if !(0..<1).contains(double("adapter.lora_dropout")) { throw fail("adapter.lora_dropout must be in [0, 1)") }
    }

    /// The model options this configuration describes (`numLabels` from the task).
    public func modelOptions(numLabels: Int) -> ModelOptions {
        var o = ModelOptions(numLabels: numLabels)
        switch string("adapter.type") {
        case "dcft":
            let s = int("adapter.stride")
            o.adapter = .dcft(DCFTOptions(kernel: int("adapter.kernel"), stride: s == 0 ? nil : s, alpha: Float(double("adapter.alpha")),
                                          r: Float(double("adapter.r")), initStd: Float(double("adapter.init_std"))))
        case "lora":
            o.adapter = .lora(LoRAOptions(rank: int("adapter.lora_rank"), alpha: Float(double("adapter.lora_alpha")),
                                          dropout: double("adapter.lora_dropout")))
        default: o.adapter = .none
        }
        o.targetModules = strings("adapter.target_modules")
        o.fullFineTuning = bool("adapter.full_fine_tuning")
        o.trainPooler = bool("head.train_pooler")
        let cd = double("head.classifier_dropout"), hd = double("train.hidden_dropout"), ad = double("train.attention_dropout")
        o.classifierDropout = cd >= 0 ? cd : nil
        o.hiddenDropout = hd >= 0 ? hd : nil
        o.attentionDropout = ad >= 0 ? ad : nil
        return o
    }
}
