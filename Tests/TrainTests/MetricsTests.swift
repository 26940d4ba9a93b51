import Testing
import Foundation
@testable import Train

@Suite("Metrics")
struct MetricsTests {
    @Test("hand-computed values")
    func hand() {
        // 6 examples: tp=2, fp=1, fn=1, tn=2.
        let p = [1, 1, 1, 0, 0, 0], l = [1, 1, 0, 1, 0, 0]
        #expect(Metrics.accuracy(p, l) == 4.0 / 6.0)
        #expect(Metrics.f1(p, l) == 4.0 / 6.0)  // 2·2 / (2·2 + 1 + 1)
        #expect(abs(Metrics.matthews(p, l) - 1.0 / 3.0) < 1e-15)  // (tp·tn − fp·fn)/√(3·3·3·3) = 3/9
        #expect(Metrics.matthews([0, 0], [0, 0]) == 0)
        #expect(Metrics.pearson([1, 2, 3], [2, 4, 6]) == 1)
        #expect(Metrics.pearson([1, 2, 3], [3, 2, 1]) == -1)
        #expect(Metrics.pearson([1, 1, 1], [1, 2, 3]).isNaN)
        #expect(Metrics.averageRanks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
        #expect(Metrics.spearman([1, 2, 3, 4], [1, 4, 9, 16]) == 1)
    }

    @Test("every case matches scikit-learn / SciPy goldens (scripts/make_metric_goldens.py)")
    func goldens() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/metric_goldens.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let cases = root["cases"] as! [[String: Any]]
        #expect(cases.count == 21)
        for (i, c) in cases.enumerated() {
            if c["kind"] as! String == "classification" {
                let p = (c["predictions"] as! [NSNumber]).map(\.intValue), l = (c["labels"] as! [NSNumber]).map(\.intValue)
                let r = TaskMetrics.classification(names: c["f1"] != nil ? ["accuracy", "f1", "mcc"] : ["accuracy", "mcc"],
                                                   predictions: p, labels: l)
                for name in ["accuracy", "f1", "mcc"] {
                    guard let want = (c[name] as? NSNumber)?.doubleValue else { continue }
                    #expect(abs(r.values[name]! - want) < 1e-12, "case \(i) \(name): \(r.values[name]!) vs \(want)")
                }
            } else {
                let p = (c["predictions"] as! [NSNumber]).map(\.doubleValue), l = (c["labels"] as! [NSNumber]).map(\.doubleValue)
                let r = TaskMetrics.regression(predictions: p, labels: l)
                for name in ["pearson", "spearman"] {
                    let want = (c[name] as! NSNumber).doubleValue
                    #expect(abs(r.values[name]! - want) < 1e-12, "case \(i) \(name): \(r.values[name]!) vs \(want)")
                }
            }
        }
    }

    @Test("MNLI reports matched and mismatched accuracy, matched as the headline")
    func mnli() {
        let r = TaskMetrics.mnli(matched: ([0, 1, 2], [0, 1, 1]), mismatched: ([2, 2], [2, 0]))
        #expect(r.values == ["accuracy_matched": 2.0 / 3.0, "accuracy_mismatched": 0.5])
        #expect(r.headline == "accuracy_matched" && r.headlineValue == 2.0 / 3.0)
    }
}
