import Foundation

/// The adapter export (docs/DESIGN.md §4): the trainable tensors alone — adapters and head — in a
/// safetensors file, with the options needed to rebuild the model in its string metadata.
/// A few hundred KB for DCFT on MiniLM; all weights under full fine-tuning.
public enum AdapterFile {
    public static let format = "dcft-adapter"
    public static let version = "1"

    /// What an adapter file says about the model it belongs to.
    public struct Header: Sendable, Equatable {
        public var options: ModelOptions
        public var architecture: Architecture
        /// sha256 of the base model.safetensors the adapter was trained on.
        public var baseModelSHA256: String
        public var labelNames: [String]
        public var task: String
        /// The JSONL fields of an input row the model was trained on (metadata `text_field`,
        /// `pair_field`; empty `pair_field` = single sentences). `textField == nil`: not recorded
        /// (files written before these keys existed).
        public var textField: String? = nil
        public var pairField: String? = nil
    }

    static func encode(_ h: Header) -> [String: String] {
        var m: [String: String] = [
            "format": format, "format_version": version,
            "architecture": h.architecture.rawValue, "base_model_sha256": h.baseModelSHA256,
            "num_labels": String(h.options.numLabels), "label_names": h.labelNames.joined(separator: "\t"),
            "task": h.task, "target_modules": h.options.targetModules.joined(separator: ","),
            "full_fine_tuning": String(h.options.fullFineTuning), "train_pooler": String(h.options.trainPooler),
        ]
        if let text = h.textField { m["text_field"] = text; m["pair_field"] = h.pairField ?? "" }
        m["adapter"] = h.options.adapter?.name ?? "none"
        if let method = h.options.adapter {
            let values = method.settings
            for f in method.fields { m[f.fileKey(method: method.name)] = f.format(values[f.key] ?? f.defaultValue) }
        }
        return m
    }

    static func decode(_ m: [String: String], file: String) throws -> Header {
        func need(_ k: String) throws -> String {
            guard let v = m[k] else { throw ConfigError(file: file, problem: "adapter metadata lacks \"\(k)\"") }
            return v
        }
        guard m["format"] == format else { throw ConfigError(file: file, problem: "not a dcft adapter file (format is \(m["format"] ?? "missing"))") }
        guard m["format_version"] == version else {
            throw ConfigError(file: file, problem: "adapter format_version \(m["format_version"] ?? "?") is not supported (this dcft reads \(version))")
        }
        guard let arch = Architecture(rawValue: try need("architecture")) else { throw ConfigError(file: file, problem: "unknown architecture") }
        var o = ModelOptions()
        o.numLabels = Int(try need("num_labels")) ?? 2
        o.targetModules = try need("target_modules").split(separator: ",").map(String.init)
        o.fullFineTuning = try need("full_fine_tuning") == "true"
        o.trainPooler = try need("train_pooler") == "true"
        let kind = try need("adapter")
        if kind == "none" {
            o.adapter = nil
        } else {
            guard let method = AdapterRegistry.method(named: kind) else {
                throw ConfigError(file: file, problem: "unknown adapter kind \"\(kind)\" (this dcft knows \(AdapterRegistry.typeNames.joined(separator: ", ")))")
            }
            var settings = AdapterSettings()
            for f in method.fields {
                guard let text = m[f.fileKey(method: kind)] else { continue }   // absent in older files: the default
                guard let v = Double(text) else {
                    throw ConfigError(file: file, problem: "adapter metadata \"\(f.fileKey(method: kind))\" is not a number: \(text)")
                }
                settings[f.key] = v
            }
            o.adapter = try method.make(settings: settings, source: file)
        }
        let names = m["label_names"] ?? ""
        let pair = m["pair_field"] ?? ""
        return Header(options: o, architecture: arch, baseModelSHA256: try need("base_model_sha256"),
                      labelNames: names.isEmpty ? [] : names.components(separatedBy: "\t"), task: m["task"] ?? "",
                      textField: m["text_field"], pairField: pair.isEmpty ? nil : pair)
    }

    /// Writes every trainable tensor of `model` (atomically), with the task's label names and
    /// input fields (`textField`/`pairField`, as in `Header`).
    public static func write(model: SequenceClassifier, to path: String, baseModelSHA256: String,
                             labelNames: [String] = [], task: String = "",
                             textField: String? = nil, pairField: String? = nil) throws {
        let header = Header(options: model.options, architecture: model.config.architecture,
                            baseModelSHA256: baseModelSHA256, labelNames: labelNames, task: task,
                            textField: textField, pairField: pairField)
        let tensors = model.store.entries.filter(\.ref.trainable).map {
            (name: $0.name, shape: $0.shape, data: model.store.get($0.name))
        }
        try SafeTensorsWriter.write(tensors: tensors, metadata: encode(header), to: path)
    }

    /// Reads the header and opens the tensors.
    public static func read(_ path: String) throws -> (header: Header, tensors: SafeTensorsFile) {
        let st = try SafeTensorsFile(path: path)
        return (try decode(st.metadata, file: path), st)
    }

    /// Loads an adapter file's tensors into a model built with the file's options; every
    /// trainable tensor must be present with its shape.
    public static func apply(_ tensors: SafeTensorsFile, to model: SequenceClassifier, file: String) throws {
        var err = WeightLoadError(source: file)
        let trainable = model.store.entries.filter(\.ref.trainable)
        for e in trainable {
            guard tensors.contains(e.name) else { err.missing.append(e.name); continue }
            let shape = try tensors.info(e.name).shape
            guard shape == e.shape else { err.misshaped.append((e.name, e.shape, shape)); continue }
            model.store.set(e.name, try tensors.floats(e.name))
        }
        let known = Set(trainable.map(\.name))
        err.unexpected = tensors.names.filter { !known.contains($0) }
        if !err.isEmpty { throw err }
    }
}
