"""evaluate: run the exported ONNX model with onnxruntime on the holdout set.

Writes metrics.json, model/smoke.json, model/holdout.json.
"""
import json

import numpy as np
import onnxruntime as ort
import pandas as pd

from common import LABEL, MODEL_DIR, PREPARED_DIR, ROOT, tensor, write_json

SMOKE_ROWS = 5


def main():
    with open(MODEL_DIR / "cv.json") as f:
        cv = json.load(f)
    features, classes = cv["features"], cv["classes"]
    index = {c: i for i, c in enumerate(classes)}

    holdout = pd.read_csv(PREPARED_DIR / "holdout.csv")
    unknown = sorted(set(holdout[LABEL]) - set(classes))
    if unknown:
        raise SystemExit(f"holdout has classes the model never saw: {unknown}")
    X = holdout[features].to_numpy(dtype=np.float32)
    y = holdout[LABEL].map(index).to_numpy(dtype=np.int64)

    sess = ort.InferenceSession(str(MODEL_DIR / "model.onnx"), providers=["CPUExecutionProvider"])
    label, proba = sess.run(["label", "probabilities"], {"input": X})
    accuracy = float(np.mean(label == y))

    folds = [float(s) for s in cv["folds"]]
    write_json(ROOT / "metrics.json", {
        "accuracy": accuracy,
        "folds": folds,
        "cv_mean": float(np.mean(folds)),
        "n_train": int(cv["n_train"]),
        "n_holdout": int(len(holdout)),
    })

    xs = X[:SMOKE_ROWS]
    s_label, s_proba = sess.run(["label", "probabilities"], {"input": xs})
    write_json(MODEL_DIR / "smoke.json", {
        "inputs": [tensor("input", "FP32", xs)],
        "expectedOutputs": [tensor("label", "INT64", s_label),
                            tensor("probabilities", "FP32", s_proba)],
        "tolerance": 1e-4,
    })
    write_json(MODEL_DIR / "holdout.json", {
        "features": features,
        "classes": classes,
        "inputs": [tensor("input", "FP32", X)],
        "labels": [int(v) for v in y],
    })
    print(f"evaluate: holdout accuracy={accuracy:.4f} on {len(holdout)} rows")


if __name__ == "__main__":
    main()
