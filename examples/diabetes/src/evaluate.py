"""evaluate: the trained pipeline's figures on the holdout set, and what cd4ml needs to check the ONNX export.

Writes metrics.json, model/smoke.json, model/holdout.json. The figures and the smoke
expectations come from the scikit-learn pipeline (the training framework), not from
the ONNX file: cd4ml runs the ONNX file itself and compares, so an export that
changes the model (see export.prediction_scale) shows up there.
"""
import json
import pickle

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from common import MODEL_DIR, PREPARED_DIR, ROOT, TARGET, tensor, write_json

SMOKE_ROWS = 5
# |ONNX (float32) - scikit-learn (float64)| on these predictions is ~1e-5 in target units (25..346).
SMOKE_TOLERANCE = 1e-3


def main():
    with open(MODEL_DIR / "cv.json") as f:
        cv = json.load(f)
    with open(MODEL_DIR / "pipeline.pkl", "rb") as f:
        pipe = pickle.load(f)
    features = cv["features"]

    holdout = pd.read_csv(PREPARED_DIR / "holdout.csv")
    X = holdout[features].to_numpy(dtype=np.float32)
    y = holdout[TARGET].to_numpy(dtype=np.float64)
    pred = pipe.predict(X).astype(np.float64)

    folds = [float(s) for s in cv["folds"]]
    metrics = {
        "rmse": float(root_mean_squared_error(y, pred)),
        "mae": float(mean_absolute_error(y, pred)),
        "r2": float(r2_score(y, pred)),
        "folds": folds,
        "cv_mean": float(np.mean(folds)),
        "n_train": int(cv["n_train"]),
        "n_holdout": int(len(holdout)),
    }
    write_json(ROOT / "metrics.json", metrics)

    write_json(MODEL_DIR / "smoke.json", {
        "inputs": [tensor("input", "FP32", X[:SMOKE_ROWS])],
        "expectedOutputs": [tensor("prediction", "FP32", pred[:SMOKE_ROWS].reshape(-1, 1))],
        "tolerance": SMOKE_TOLERANCE,
    })
    write_json(MODEL_DIR / "holdout.json", {
        "features": features,
        "inputs": [tensor("input", "FP32", X)],
        "targets": [float(v) for v in y],
        "targetRange": cv["target_range"],
    })

    # Not a gate (cd4ml is): say how far the exported model is from the pipeline.
    sess = ort.InferenceSession(str(MODEL_DIR / "model.onnx"), providers=["CPUExecutionProvider"])
    (onnx_pred,) = sess.run(["prediction"], {"input": X})
    diff = np.abs(onnx_pred.reshape(-1).astype(np.float64) - pred)
    print(f"evaluate: holdout rmse={metrics['rmse']:.3f} mae={metrics['mae']:.3f} r2={metrics['r2']:.4f} "
          f"on {len(holdout)} rows; ONNX vs scikit-learn max |diff| {np.max(diff):.2e}")


if __name__ == "__main__":
    main()
