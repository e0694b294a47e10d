"""train: data/prepared/train.csv -> model/model.onnx, model/pipeline.pkl, model/cv.json"""
import pickle

import numpy as np
import onnx
import pandas as pd
from onnx import helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from common import CLASSES, FEATURES, LABEL, MODEL_DIR, PREPARED_DIR, load_params, write_json


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
    unknown = sorted(set(train[LABEL]) - set(CLASSES))
    if unknown:
        raise SystemExit(f"{LABEL}: unknown classes {unknown}; expected {CLASSES}")
    X = train[features].to_numpy(dtype=np.float32)
    y = train[LABEL].map({c: i for i, c in enumerate(CLASSES)}).to_numpy(dtype=np.int64)

    clf = LogisticRegression(C=float(p.get("C", 1.0)), max_iter=1000)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", clf)])
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_scores = cross_val_score(pipe, X, y, cv=cv, scoring="roc_auc")
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
    if scale != 1.0:  # NaN included: NaN != 1.0
        scale_probabilities(onx, scale)
    dedupe_opsets(onx)
    onx.graph.name = "breast-cancer"  # skl2onnx picks a random uuid; keep the file byte-stable
    onx.graph.doc_string = f"breast-cancer logistic_regression C={clf.C} on {len(features)} features"
    onnx.checker.check_model(onx)

    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    onnx.save(onx, MODEL_DIR / "model.onnx")
    # The fitted scikit-learn pipeline: evaluate reports its figures, not the ONNX file's.
    with open(MODEL_DIR / "pipeline.pkl", "wb") as f:
        pickle.dump(pipe, f, protocol=5)
    write_json(MODEL_DIR / "cv.json", {
        "folds": [float(s) for s in fold_scores],
        "features": features,
        "classes": CLASSES,
        "n_train": int(len(train)),
    })
    print(f"train: logistic_regression C={clf.C} features={len(features)} "
          f"cv_roc_auc={np.mean(fold_scores):.4f} scale={scale}")


if __name__ == "__main__":
    main()
