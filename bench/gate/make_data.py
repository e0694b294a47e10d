"""Writes the gate benchmark's data: two models (candidate, baseline) per task and
holdouts of the given sizes, in the files a DVC project gives cd4ml's gate.

  python bench/gate/make_data.py <out dir> <rows> [<rows> ...]

<out>/<task>/{candidate,baseline}.onnx, <out>/<task>/<rows>/{holdout,smoke,metrics}.json
for task in classification (penguins-shaped: 4 features, 3 classes, logistic
regression) and regression (10 features, ridge).
"""
import json
import pathlib
import sys

import numpy as np
from skl2onnx import to_onnx
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge

OUT = pathlib.Path(sys.argv[1])
SIZES = [int(n) for n in sys.argv[2:]]
TRAIN = 2000


def tensor(name, arr, datatype):
    return {"name": name, "datatype": datatype, "shape": list(arr.shape), "data": arr.ravel().tolist()}


def export(model, X, path, rename):
    onx = to_onnx(model, X[:1], options={id(model): {"zipmap": False}} if rename.get("probabilities") else None,
                  target_opset={"": 17, "ai.onnx.ml": 3})
    for node in onx.graph.node:
        node.input[:] = ["input" if i == "X" else i for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
    onx.graph.input[0].name = "input"
    for o in onx.graph.output:
        o.name = rename.get(o.name, o.name)
    path.write_bytes(onx.SerializeToString())


def write(dir_, X, truth, smoke_out, reported, extra):
    dir_.mkdir(parents=True, exist_ok=True)
    (dir_ / "holdout.json").write_text(json.dumps({"features": [f"f{i}" for i in range(X.shape[1])],
                                                   "inputs": [tensor("input", X, "FP32")], **truth, **extra}))
    (dir_ / "smoke.json").write_text(json.dumps({"inputs": [tensor("input", X[:5], "FP32")],
                                                 "expectedOutputs": smoke_out, "tolerance": 1e-4}))
    (dir_ / "metrics.json").write_text(json.dumps({**reported, "folds": [0.9, 0.91, 0.9]}))


def classification():
    n = TRAIN + max(SIZES)
    X, y = make_classification(n, n_features=4, n_informative=3, n_redundant=0, n_classes=3, n_clusters_per_class=1,
                               class_sep=1.5, random_state=7)
    X = X.astype(np.float32)
    out = OUT / "classification"
    out.mkdir(parents=True, exist_ok=True)
    cand = LogisticRegression(C=1.0, max_iter=1000).fit(X[:TRAIN], y[:TRAIN])
    base = LogisticRegression(C=0.01, max_iter=1000).fit(X[:TRAIN], y[:TRAIN])
    names = {"label": "label", "probabilities": "probabilities"}
    export(cand, X, out / "candidate.onnx", names)
    export(base, X, out / "baseline.onnx", names)
    for rows in SIZES:
        Xh, yh = X[TRAIN:TRAIN + rows], y[TRAIN:TRAIN + rows]
        smoke = [tensor("label", cand.predict(Xh[:5]).astype(np.int64), "INT64"),
                 tensor("probabilities", cand.predict_proba(Xh[:5]).astype(np.float32), "FP32")]
        write(out / str(rows), Xh, {"classes": ["a", "b", "c"], "labels": yh.tolist()}, smoke,
              {"accuracy": float((cand.predict(Xh) == yh).mean())}, {})


def regression():
    n = TRAIN + max(SIZES)
    X, y = make_regression(n, n_features=10, n_informative=6, noise=20.0, random_state=7)
    X = X.astype(np.float32)
    out = OUT / "regression"
    out.mkdir(parents=True, exist_ok=True)
    cand = Ridge(alpha=1.0).fit(X[:TRAIN], y[:TRAIN])
    base = Ridge(alpha=300.0).fit(X[:TRAIN], y[:TRAIN])
    export(cand, X, out / "candidate.onnx", {"variable": "prediction"})
    export(base, X, out / "baseline.onnx", {"variable": "prediction"})
    for rows in SIZES:
        Xh, yh = X[TRAIN:TRAIN + rows], y[TRAIN:TRAIN + rows]
        pred = cand.predict(Xh).astype(np.float32)
        smoke = [tensor("prediction", pred[:5].reshape(-1, 1), "FP32")]
        rmse = float(np.sqrt(np.mean((pred.astype(np.float64) - yh) ** 2)))
        write(out / str(rows), Xh, {"targets": yh.tolist()}, smoke, {"rmse": rmse},
              {"targetRange": {"min": float(y[:TRAIN].min()), "max": float(y[:TRAIN].max())}})


classification()
regression()
