import Foundation
import Testing
import TestSupport

/// Paths and process helpers for the end-to-end tests, which run the built `dcft` binary
/// on the real all-MiniLM-L6-v2 (fetched by launch/fetch-model.sh, which launch/test.sh runs)
/// and compare with Hugging Face transformers in Python.
enum E2E {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let miniLM = packageRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path
    /// The GLUE files the repository ships (datasets/glue/SOURCES.md).
    static let glue = packageRoot.appendingPathComponent("datasets/glue").path
    static let scripts = packageRoot.appendingPathComponent("scripts").path

    /// Whether the real model is there. launch/test.sh fetches it and sets DCFT_REQUIRE_E2E=1,
    /// so in CI a missing model fails the tests instead of skipping them.
    static var available: Bool {
        if FileManager.default.fileExists(atPath: miniLM + "/model.safetensors") { return true }
        return ProcessInfo.processInfo.environment["DCFT_REQUIRE_E2E"] == "1"
    }

    typealias Output = ProcessRunner.Output

    @discardableResult
    static func run(_ exe: String, _ args: [String], environment: [String: String] = [:]) throws -> Output {
        try ProcessRunner.run(exe, args, environment: environment)
    }

    static func dcft(_ args: [String], environment: [String: String] = [:]) throws -> Output {
        try ProcessRunner.run(ProcessRunner.product("dcft"), args, environment: environment)
    }

    static func temporaryDirectory() throws -> String { try ProcessRunner.temporaryDirectory("dcft-e2e") }

    /// First `n` rows of a GLUE TSV as JSONL lines {"text", "text_pair"?}.
    static func jsonl(task folder: String, columns: [Int], rows n: Int) throws -> String {
        let lines = try String(contentsOfFile: "\(glue)/\(folder)/dev.tsv", encoding: .utf8).split(separator: "\n").dropFirst().prefix(n)
        return lines.map { line -> String in
            let c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            var o: [String: String] = ["text": c[columns[0]]]
            if columns.count > 1 { o["text_pair"] = c[columns[1]] }
            return String(decoding: try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }

    /// Parses `dcft predict` output into logit rows.
    static func predictLogits(_ text: String) throws -> [[Double]] {
        try text.split(separator: "\n").map { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return (o["logits"] as! [NSNumber]).map(\.doubleValue)
        }
    }

    static func pythonLogits(_ out: Output) throws -> [[Double]] {
        let j = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [[NSNumber]]
        return j.map { $0.map(\.doubleValue) }
    }
}
