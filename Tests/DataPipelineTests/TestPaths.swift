import Foundation

/// Paths the data tests use. The real GLUE files (RTE, MRPC, CoLA, STS-B, SST-2) ship with the
/// repository in `datasets/glue/` (provenance and checksums in its SOURCES.md), so a clone with
/// nothing beside it passes. Small official-layout fixtures for MNLI, QQP and QNLI, and
/// tokenizer files, are committed under `Fixtures/`.
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let shippedGLUE = packageRoot.appendingPathComponent("datasets/glue").path
    static let fixtures = packageRoot.appendingPathComponent("Tests/DataPipelineTests/Fixtures").path

    static func glue(_ folder: String, _ file: String) -> String { "\(shippedGLUE)/\(folder)/\(file)" }

    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcft-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
