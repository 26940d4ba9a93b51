import Testing
import Foundation
@testable import Model

@Suite("Model loading and configuration errors")
struct ModelLoadingTests {
    let dir = ModelFixtures.root.appendingPathComponent("tiny-bert").path

    @Test("missing, unexpected and mis-shaped tensors are all listed in one error")
    func weightErrors() throws {
        let config = try EncoderConfig.load(file: dir + "/config.json")
        let st = try SafeTensorsFile(path: dir + "/model.safetensors")
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for n in st.names { tensors[n] = (try st.info(n).shape, try st.floats(n)) }
        tensors["bert.encoder.layer.1.output.dense.weight"] = nil
        tensors["bert.encoder.layer.0.attention.self.query.bias"] = ([7], [Float](repeating: 0, count: 7))
        tensors["bert.encoder.layer.9.surprise.weight"] = ([1], [0])
        tensors["cls.predictions.bias"] = ([99], [Float](repeating: 0, count: 99))  // pre-training head: ignored
        let model = try SequenceClassifier(config: config, options: ModelOptions(numLabels: 3))
        do {
            try model.load(from: DictionaryWeights(tensors), sourceName: "test weights")
            Issue.record("bad weights accepted")
        } catch let e as WeightLoadError {
            #expect(e.missing == ["bert.encoder.layer.1.output.dense.weight"])
            #expect(e.unexpected == ["bert.encoder.layer.9.surprise.weight"])
            #expect(e.misshaped.map(\.name) == ["bert.encoder.layer.0.attention.self.query.bias"])
            #expect(e.description.contains("is [7], expected [40]"))
        }
    }

    @Test("BertModel-style names without the bert. prefix load too")
    func unprefixedNames() throws {
        let config = try EncoderConfig.load(file: dir + "/config.json")
        let st = try SafeTensorsFile(path: dir + "/model.safetensors")
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for n in st.names where n.hasPrefix("bert.") { tensors[String(n.dropFirst(5))] = (try st.info(n).shape, try st.floats(n)) }
        let model = try SequenceClassifier(config: config, options: ModelOptions(numLabels: 3))
        let loaded = try model.load(from: DictionaryWeights(tensors), sourceName: "unprefixed")
        #expect(loaded.contains("bert.encoder.layer.0.attention.self.query.weight"))
        #expect(!loaded.contains("classifier.weight"))  // left for initializeTrainable
        #expect(model.store.get("bert.embeddings.word_embeddings.weight") == (try st.floats("bert.embeddings.word_embeddings.weight")))
    }

    @Test("config errors name the file and key")
    func configErrors() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString).json").path
        func expectError(_ json: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try json.write(toFile: tmp, atomically: true, encoding: .utf8)
            do { _ = try EncoderConfig.load(file: tmp); Issue.record("accepted: \(json)", sourceLocation: sourceLocation) } catch let e as ConfigError {
                #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
                #expect(e.description.contains(tmp), sourceLocation: sourceLocation)
            }
        }
        try expectError("{\"model_type\": \"gpt2\"}", "model_type \"gpt2\" is not supported (supported: bert, roberta, deberta-v2)")
        try expectError("{\"model_type\": \"bert\", \"hidden_act\": \"relu\"}", "hidden_act \"relu\"")
        try expectError("{\"model_type\": \"bert\", \"vocab_size\": 5, \"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 8, \"hidden_dropout_prob\": 1.5}",
                        "hidden_dropout_prob 1.5 is not a probability in [0, 1)")
        try expectError("{\"model_type\": \"bert\", \"vocab_size\": 5}", "missing integer \"hidden_size\"")
        try expectError("[1, 2]", "not a JSON object")
        #expect(throws: ConfigError.self) { try EncoderConfig.load(file: tmp + ".absent") }
    }

    @Test("unknown target modules and kernels that do not divide the sizes are refused")
    func optionErrors() throws {
        let config = try EncoderConfig.load(file: dir + "/config.json")  // h = 40, f = 72
        #expect(throws: ConfigError.self) { try SequenceClassifier(config: config, options: ModelOptions(targetModules: ["qurey"])) }
        #expect(throws: ConfigError.self) {
            try SequenceClassifier(config: config, options: ModelOptions(adapter: DCFTOptions(kernel: 16)))
        }
    }
}
