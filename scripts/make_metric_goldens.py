#!/usr/bin/env python3
"""Writes Tests/TrainTests/Fixtures/metric_goldens.json: random prediction/label sets with the
values scikit-learn and SciPy compute for them, the independent reference for dcft's metrics.

Regenerate (from the repository root):
    pip install numpy scipy scikit-learn
    python3 scripts/make_metric_goldens.py
"""
import json, pathlib
import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

rng = np.random.default_rng(6)
cases = []
for i in range(12):
    n = int(rng.integers(5, 400))
    k = 3 if i % 4 == 3 else 2
    labels = rng.integers(0, k, n)
    # Predictions correlated with labels, so the metrics are not all near zero.
    noise = rng.integers(0, k, n)
    preds = np.where(rng.random(n) < 0.6 + 0.03 * i, labels, noise)
    case = {"kind": "classification", "classes": k, "predictions": preds.tolist(), "labels": labels.tolist(),
            "accuracy": accuracy_score(labels, preds), "mcc": matthews_corrcoef(labels, preds)}
    if k == 2:
        case["f1"] = f1_score(labels, preds)
    cases.append(case)
# Degenerate classification: one class everywhere (MCC 0, F1 0 by zero_division).
cases.append({"kind": "classification", "classes": 2, "predictions": [0] * 6, "labels": [0] * 6,
              "accuracy": 1.0, "mcc": matthews_corrcoef([0] * 6, [0] * 6),
              "f1": f1_score([0] * 6, [0] * 6, zero_division=0)})
for i in range(8):
    n = int(rng.integers(5, 1500))
    gold = np.round(rng.uniform(0, 5, n) * (5 if i % 2 else 1)) / (5 if i % 2 else 1)  # ties on odd cases
    pred = gold + rng.normal(0, 0.3 + 0.2 * i, n)
    if i == 7:
        pred = np.round(pred)  # ties in predictions too
    cases.append({"kind": "regression", "predictions": pred.tolist(), "labels": gold.tolist(),
                  "pearson": float(pearsonr(pred, gold)[0]), "spearman": float(spearmanr(pred, gold)[0])})

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/TrainTests/Fixtures/metric_goldens.json"
out.write_text(json.dumps({"generator": "scripts/make_metric_goldens.py", "cases": cases}))
print(f"wrote {len(cases)} cases to {out}")
