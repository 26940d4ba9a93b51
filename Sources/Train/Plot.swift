import Foundation

/// Draws a run's curves from its `log.jsonl` into one SVG: training loss by step (top) and
/// every evaluation metric by step (bottom). No plotting library: plain SVG polylines.
public enum RunPlot {
    public static func svg(logPath: String) throws -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else {
            throw CheckpointError(file: logPath, problem: "no run log (log.jsonl) here")
        }
        var loss: [(Double, Double)] = [], metrics: [String: [(Double, Double)]] = [:]
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = (o["step"] as? NSNumber)?.doubleValue else { continue }
            if let l = (o["loss"] as? NSNumber)?.doubleValue { loss.append((step, l)) }
            if let e = o["eval"] as? [String: Any] {
                for (k, v) in e { if let d = (v as? NSNumber)?.doubleValue { metrics[k, default: []].append((step, d)) } }
            }
        }
        let W = 720.0, H = 260.0, pad = 50.0
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        func panel(_ series: [(String, [(Double, Double)])], title: String, y0: Double) -> String {
            let pts = series.flatMap(\.1)
            guard !pts.isEmpty else { return "<text x=\"\(pad)\" y=\"\(y0 + 30)\">\(title): no data</text>" }
            let xs = pts.map(\.0), ys = pts.map(\.1)
            let (xmin, xmax) = (xs.min()!, max(xs.max()!, xs.min()! + 1))
            var (ymin, ymax) = (ys.min()!, ys.max()!)
            if ymax - ymin < 1e-9 { ymin -= 0.5; ymax += 0.5 }
            func px(_ x: Double) -> Double { pad + (x - xmin) / (xmax - xmin) * (W - 2 * pad) }
            func py(_ y: Double) -> Double { y0 + H - pad + (ymin - y) / (ymax - ymin) * (H - 2 * pad) }
            var s = "<text x=\"\(pad)\" y=\"\(y0 + 20)\" font-size=\"14\">\(title)</text>\n"
            s += "<rect x=\"\(pad)\" y=\"\(y0 + pad)\" width=\"\(W - 2 * pad)\" height=\"\(H - 2 * pad)\" fill=\"none\" stroke=\"#999\"/>\n"
            s += String(format: "<text x=\"4\" y=\"%.1f\" font-size=\"10\">%.4g</text><text x=\"4\" y=\"%.1f\" font-size=\"10\">%.4g</text>\n", py(ymax) + 4, ymax, py(ymin), ymin)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">step %.0f</text>\n", W - pad - 40, y0 + H - pad + 14, xmax)
            for (i, (name, data)) in series.enumerated() {
                let c = colors[i % colors.count]
                let p = data.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
                s += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.5\" points=\"\(p)\"/>\n"
                s += "<text x=\"\(W - pad + 4)\" y=\"\(y0 + pad + 14 * Double(i + 1))\" font-size=\"10\" fill=\"\(c)\">\(name)</text>\n"
            }
            return s
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(W + 60)\" height=\"\(2 * H)\" font-family=\"sans-serif\">\n"
        svg += panel([("loss", loss)], title: "training loss", y0: 0)
        svg += panel(metrics.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, title: "dev metrics", y0: H)
        return svg + "</svg>\n"
    }
}
