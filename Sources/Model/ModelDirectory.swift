import Foundation

/// A Hugging Face model directory: `config.json` + `model.safetensors`, plus tokenizer files.
public struct ModelDirectory: Sendable {
    public let path: String
    public let config: EncoderConfig
    public var configPath: String { path + "/config.json" }
    public var weightsPath: String { path + "/model.safetensors" }

    /// Checks the directory has what a model needs and parses its config.
    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw ConfigError(file: path, problem: "no such model directory")
        }
        self.path = path
        config = try EncoderConfig.load(file: path + "/config.json")
        guard FileManager.default.fileExists(atPath: path + "/model.safetensors") else {
            if FileManager.default.fileExists(atPath: path + "/pytorch_model.bin") {
                throw ConfigError(file: path, problem: "holds pytorch_model.bin but no model.safetensors; dcft reads safetensors only. Convert it once with: python3 scripts/convert_to_safetensors.py \(path)")
            }
            throw ConfigError(file: path, problem: "no model.safetensors in the model directory")
        }
    }

    /// Label names from `config.json`'s `id2label`, in id order (empty when absent).
    public var labelNames: [String] {
        guard let data = FileManager.default.contents(atPath: configPath),
              let j = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let m = j["id2label"] as? [String: String] else { return [] }
        return m.keys.compactMap(Int.init).sorted().compactMap { m[String($0)] }
    }
}

extension SequenceClassifier {
    /// Builds a model on a pretrained directory: registers tensors, loads the weights
    /// (`load(from:)`), then initialises whatever trainable tensor the file did not hold.
    public static func pretrained(_ dir: ModelDirectory, options: ModelOptions, seed: UInt64 = 6) throws -> SequenceClassifier {
        let model = try SequenceClassifier(config: dir.config, options: options)
        let weights = try SafeTensorsFile(path: dir.weightsPath)
        let loaded = try model.load(from: weights, sourceName: dir.weightsPath)
        var rng = SeededRNG(seed: seed, stream: 0xADA)
        model.initializeTrainable(rng: &rng, skip: loaded)
        return model
    }
}

import TensorCore
