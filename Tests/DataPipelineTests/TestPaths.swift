import Foundation

/// Paths the data tests use. The real GLUE files live in the workplace's read-only shared
/// folder beside the repository (`<repo>/../shared/data/glue`); CI clones the repository with
/// a copy of that folder beside it. Small official-layout fixtures for MNLI, QQP and QNLI,
/// and tokenizer files, are committed under `Fixtures/`.
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let sharedGLUE = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/glue").path
    static let fixtures = packageRoot.appendingPathComponent("Tests/DataPipelineTests/Fixtures").path

    static func glue(_ folder: String, _ file: String) -> String { "\(sharedGLUE)/\(folder)/\(file)" }

    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dcft-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
