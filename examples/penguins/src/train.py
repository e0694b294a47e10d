"""train: data/prepared/train.csv -> model/model.onnx, model/cv.json"""
import time

import numpy as np
import onnx
import pandas as pd
from onnx import helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from checkpoint import Checkpoint
from common import FEATURES, LABEL, MODEL_DIR, PREPARED_DIR, load_params, write_json


def make_classifier(p, seed):
    kind = p.get("model", "logistic_regression")
    if kind == "logistic_regression":
        return LogisticRegression(C=float(p.get("C", 1.0)), max_iter=1000)
    if kind == "decision_tree":
        return DecisionTreeClassifier(max_depth=int(p.get("max_depth", 3)), random_state=seed)
    raise SystemExit(f"train.model: expected logistic_regression or decision_tree, got {kind!r}")


def rename_output(model, old, new):
    for node in model.graph.node:
        node.output[:] = [new if o == old else o for o in node.output]
        node.input[:] = [new if i == old else i for i in node.input]
    for out in model.graph.output:
        if out.name == old:
            out.name = new


def scale_probabilities(model, scale):
    """Append Mul(probabilities, scale); the output keeps the name `probabilities`."""
    rename_output(model, "probabilities", "probabilities_unscaled")
    model.graph.initializer.append(
        numpy_helper.from_array(np.array(scale, dtype=np.float32), "probability_scale"))
    model.graph.node.append(helper.make_node(
        "Mul", ["probabilities_unscaled", "probability_scale"], ["probabilities"],
        name="ScaleProbabilities"))
    for out in model.graph.output:
        if out.name == "probabilities_unscaled":
            out.name = "probabilities"


def dedupe_opsets(model):
    """skl2onnx may list the default domain twice; keep one entry per domain."""
    seen = {}
    for op in model.opset_import:
        seen[op.domain] = max(seen.get(op.domain, 0), op.version)
    del model.opset_import[:]
    for domain, version in seen.items():
        model.opset_import.append(helper.make_opsetid(domain, version))


def cross_validate(pipe, X, y, cv, p):
    """Accuracy per fold, one fold per step, resumable: each finished fold goes into
    the checkpoint (cd4ml.yaml repro.checkpoint), and a run that finds one for the
    same data and params starts after its last fold (README: Resuming)."""
    ck = Checkpoint(p.get("checkpoint_dir", "checkpoints/train"), fingerprint=(X, y, {k: v for k, v in p.items() if k not in ("fold_seconds", "checkpoint_dir")}))
    scores = ck.load().get("fold_scores", [])
    if scores:
        print(f"train: resuming from checkpoint after fold {len(scores)}", flush=True)
    # Stands in for an expensive fit per fold; 0 (the default) keeps the example fast.
    fold_seconds = float(p.get("fold_seconds", 0))
    for i, (tr, va) in enumerate(cv.split(X, y)):
        if i < len(scores):
            continue
        time.sleep(fold_seconds)
        model = clone(pipe).fit(X[tr], y[tr])
        scores.append(float(accuracy_score(y[va], model.predict(X[va]))))
        ck.save({"fold_scores": scores})
        print(f"train: fold {i + 1} accuracy {scores[-1]:.4f} (checkpoint saved)", flush=True)
    ck.clear()
    return np.array(scores)


def main():
    params = load_params()
    p = params.get("train", {})
    e = params.get("export", {})
    seed = int(p.get("seed", 42))
    folds = int(p.get("folds", 5))
    features = list(p.get("features") or FEATURES)
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise SystemExit(f"train.features: unknown columns {unknown}; expected some of {FEATURES}")

    train = pd.read_csv(PREPARED_DIR / "train.csv")
    classes = sorted(train[LABEL].unique().tolist())
    X = train[features].to_numpy(dtype=np.float32)
    y = train[LABEL].map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)

    clf = make_classifier(p, seed)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", clf)])
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_scores = cross_validate(pipe, X, y, cv, p)
    pipe.fit(X, y)

    onx = convert_sklearn(
        pipe,
        initial_types=[("input", FloatTensorType([None, len(features)]))],
        options={id(clf): {"zipmap": False}},
        target_opset={"": int(e.get("opset", 17)), "ai.onnx.ml": int(e.get("ml_opset", 3))},
    )
    # skl2onnx names the outputs after the classifier (output_label, ...); use stable names.
    label_out, proba_out = [o.name for o in onx.graph.output]
    rename_output(onx, label_out, "label")
    rename_output(onx, proba_out, "probabilities")
    scale = float(e.get("probability_scale", 1.0))
    if scale != 1.0:
        scale_probabilities(onx, scale)
    dedupe_opsets(onx)
    onx.graph.name = "penguins"  # skl2onnx picks a random uuid; keep the file byte-stable
    onx.graph.doc_string = f"penguins {p.get('model', 'logistic_regression')} on {features}"
    onnx.checker.check_model(onx)

    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    onnx.save(onx, MODEL_DIR / "model.onnx")
    write_json(MODEL_DIR / "cv.json", {
        "folds": [float(s) for s in fold_scores],
        "features": features,
        "classes": classes,
        "n_train": int(len(train)),
    })
    print(f"train: {p.get('model', 'logistic_regression')} features={features} "
          f"cv={np.mean(fold_scores):.4f} scale={scale}")


if __name__ == "__main__":
    main()
