"""evaluate: the trained pipeline's figures on the holdout set, and what cd4ml needs to check the ONNX export.

Writes metrics.json, model/smoke.json, model/holdout.json. The figures and the smoke
expectations come from the scikit-learn pipeline (the training framework), not from
the ONNX file: cd4ml runs the ONNX file itself and compares, so an export that
changes the model (see export.probability_scale) shows up there.
"""
import json
import pickle

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss, roc_auc_score

from common import LABEL, MODEL_DIR, PREPARED_DIR, ROOT, tensor, write_json

SMOKE_ROWS = 5
# |ONNX (float32) - scikit-learn (float64)| on these probabilities is ~1e-7.
SMOKE_TOLERANCE = 1e-4


def main():
    with open(MODEL_DIR / "cv.json") as f:
        cv = json.load(f)
    with open(MODEL_DIR / "pipeline.pkl", "rb") as f:
        pipe = pickle.load(f)
    features, classes = cv["features"], cv["classes"]
    index = {c: i for i, c in enumerate(classes)}

    holdout = pd.read_csv(PREPARED_DIR / "holdout.csv")
    unknown = sorted(set(holdout[LABEL]) - set(classes))
    if unknown:
        raise SystemExit(f"holdout has classes the model never saw: {unknown}")
    X = holdout[features].to_numpy(dtype=np.float32)
    y = holdout[LABEL].map(index).to_numpy(dtype=np.int64)
    label = pipe.predict(X).astype(np.int64)
    proba = pipe.predict_proba(X)

    folds = [float(s) for s in cv["folds"]]
    metrics = {
        "accuracy": float(accuracy_score(y, label)),
        "balanced_accuracy": float(balanced_accuracy_score(y, label)),
        "f1_macro": float(f1_score(y, label, average="macro")),
        "log_loss": float(log_loss(y, proba, labels=list(range(len(classes))))),
        # the probability of class 1 (benign) ranks the rows
        "roc_auc": float(roc_auc_score(y, proba[:, 1])),
        "folds": folds,
        "cv_mean": float(np.mean(folds)),
        "n_train": int(cv["n_train"]),
        "n_holdout": int(len(holdout)),
    }
    write_json(ROOT / "metrics.json", metrics)

    write_json(MODEL_DIR / "smoke.json", {
        "inputs": [tensor("input", "FP32", X[:SMOKE_ROWS])],
        "expectedOutputs": [tensor("label", "INT64", label[:SMOKE_ROWS]),
                            tensor("probabilities", "FP32", proba[:SMOKE_ROWS])],
        "tolerance": SMOKE_TOLERANCE,
    })
    write_json(MODEL_DIR / "holdout.json", {
        "features": features,
        "classes": classes,
        "inputs": [tensor("input", "FP32", X)],
        "labels": [int(v) for v in y],
    })

    # Not a gate (cd4ml is): say how far the exported model is from the pipeline.
    sess = ort.InferenceSession(str(MODEL_DIR / "model.onnx"), providers=["CPUExecutionProvider"])
    onnx_label, onnx_proba = sess.run(["label", "probabilities"], {"input": X})
    print(f"evaluate: holdout roc_auc={metrics['roc_auc']:.4f} accuracy={metrics['accuracy']:.4f} "
          f"on {len(holdout)} rows; ONNX vs scikit-learn: {int(np.sum(onnx_label != label))} labels differ, "
          f"probabilities max |diff| {np.max(np.abs(onnx_proba - proba)):.2e}")


if __name__ == "__main__":
    main()
