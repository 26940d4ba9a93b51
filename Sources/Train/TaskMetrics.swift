/// The metrics of one evaluation set, by name ("accuracy", "f1", "mcc", "pearson", "spearman").
public struct MetricReport: Sendable, Equatable {
    public var values: [String: Double]
    /// The name of the headline metric (used to keep the best checkpoint).
    public var headline: String
    public var headlineValue: Double { values[headline] ?? .nan }
    public init(values: [String: Double], headline: String) { self.values = values; self.headline = headline }
}

/// Computes a GLUE task's metrics from model outputs.
public enum TaskMetrics {
    /// Classification: `predictions` are argmax class ids. `names` is the task's metric list
    /// (first = headline): any of "accuracy", "f1", "mcc".
    public static func classification(names: [String], predictions: [Int], labels: [Int]) -> MetricReport {
        var v: [String: Double] = [:]
        for n in names {
            switch n {
            case "accuracy": v[n] = Metrics.accuracy(predictions, labels)
            case "f1": v[n] = Metrics.f1(predictions, labels)
            case "mcc": v[n] = Metrics.matthews(predictions, labels)
            default: preconditionFailure("unknown classification metric \(n)")
            }
        }
        return MetricReport(values: v, headline: names.first ?? "accuracy")
    }

    /// Regression (STS-B): Pearson and Spearman of scores against gold scores.
    public static func regression(predictions: [Double], labels: [Double]) -> MetricReport {
        MetricReport(values: ["pearson": Metrics.pearson(predictions, labels),
                              "spearman": Metrics.spearman(predictions, labels)], headline: "pearson")
    }

    /// MNLI: accuracy on dev_matched and dev_mismatched, reported as "accuracy_matched" and
    /// "accuracy_mismatched"; the headline is the matched accuracy.
    public static func mnli(matched: (predictions: [Int], labels: [Int]),
                            mismatched: (predictions: [Int], labels: [Int])) -> MetricReport {
        MetricReport(values: ["accuracy_matched": Metrics.accuracy(matched.predictions, matched.labels),
                              "accuracy_mismatched": Metrics.accuracy(mismatched.predictions, mismatched.labels)],
                     headline: "accuracy_matched")
    }
}
