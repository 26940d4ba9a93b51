import DataPipeline

/// What the trainer needs to know about a task: label count, regression or not, metrics.
public struct TaskInfo: Sendable {
    public var name: String
    public var numLabels: Int
    public var isRegression: Bool
    /// Metric names, the first the headline (used to keep the best checkpoint).
    public var metricNames: [String]
    public var labelNames: [String]
    /// The JSONL fields of an input row (recorded in the adapter file for `dcft predict`);
    /// `nil` when neither the dataset nor a GLUE task name tells.
    public var inputFields: InputFields?

    /// A GLUE task by name, or a custom (JSONL) task described by its training set.
    public init(name: String, dataset: DatasetMetadata) {
        self.name = name
        inputFields = dataset.inputFields ?? GLUETask(name: name)?.inputFields
        if let t = GLUETask(name: name) {
            numLabels = t.numLabels; isRegression = t.isRegression; metricNames = t.metricNames; labelNames = t.labelNames
        } else {
            numLabels = dataset.numLabels; isRegression = dataset.isRegression
            metricNames = dataset.isRegression ? ["pearson", "spearman"] : ["accuracy", "f1"].filter { $0 != "f1" || dataset.numLabels == 2 }
            labelNames = dataset.labelNames
        }
    }

    /// Computes the metrics of one or more dev sets (MNLI: matched, mismatched).
    func report(predictions: [[Float]], labels: [[Float]]) -> MetricReport {
        if isRegression {
            return TaskMetrics.regression(predictions: predictions[0].map(Double.init), labels: labels[0].map(Double.init))
        }
        let p = predictions.map { $0.map { Int($0) } }, l = labels.map { $0.map { Int($0) } }
        if name == "mnli" && p.count == 2 { return TaskMetrics.mnli(matched: (p[0], l[0]), mismatched: (p[1], l[1])) }
        var r = TaskMetrics.classification(names: metricNames, predictions: p[0], labels: l[0])
        for i in p.indices.dropFirst() {
            let extra = TaskMetrics.classification(names: metricNames, predictions: p[i], labels: l[i])
            for (k, v) in extra.values { r.values["\(k)_\(i)"] = v }
        }
        return r
    }
}
