import ArgumentParser
import Train

/// `dcft plot RUN_DIR`: loss and metric curves of a run as an SVG file.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Draw a run's loss and metric curves to an SVG file.")
    @Argument(help: "Run directory (holds log.jsonl).") var runDir: String
    @Option(help: "Output SVG (default: RUN_DIR/curves.svg).") var out: String?

    func run() throws {
        let path = out ?? runDir + "/curves.svg"
        try RunPlot.svg(logPath: runDir + "/log.jsonl").write(toFile: path, atomically: true, encoding: .utf8)
        print("wrote \(path)")
    }
}
