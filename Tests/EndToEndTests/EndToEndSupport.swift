import Foundation
import Testing

/// Paths and process helpers for the end-to-end tests, which run the built `dcft` binary
/// on the real all-MiniLM-L6-v2 (fetched by launch/fetch-model.sh, which launch/test.sh runs)
/// and compare with Hugging Face transformers in Python.
enum E2E {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let miniLM = packageRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path
    static let glue = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/glue").path
    static let scripts = packageRoot.appendingPathComponent("scripts").path

    /// Whether the real model is there. launch/test.sh fetches it and sets DCFT_REQUIRE_E2E=1,
    /// so in CI a missing model fails the tests instead of skipping them.
    static var available: Bool {
        if FileManager.default.fileExists(atPath: miniLM + "/model.safetensors") { return true }
        return ProcessInfo.processInfo.environment["DCFT_REQUIRE_E2E"] == "1"
    }

    static var products: URL {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }

    struct Output { let status: Int32; let stdout: String; let stderr: String }

    /// Runs a command with arguments; stdout and stderr captured.
    @discardableResult
    static func run(_ exe: String, _ args: [String], environment: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe.hasPrefix("/") ? exe : "/usr/bin/env")
        p.arguments = exe.hasPrefix("/") ? args : [exe] + args
        var env = ProcessInfo.processInfo.environment.filter { k, _ in
            !k.hasPrefix("OMPI_") && !k.hasPrefix("PMIX_") && !k.hasPrefix("ORTE_") && !k.hasPrefix("OPAL_")
        }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let g = DispatchGroup(); g.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        g.wait(); p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    static func dcft(_ args: [String], environment: [String: String] = [:]) throws -> Output {
        try run(products.appendingPathComponent("dcft").path, args, environment: environment)
    }

    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcft-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

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
