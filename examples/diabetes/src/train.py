"""train: data/prepared/train.csv -> model/model.onnx, model/pipeline.pkl, model/cv.json"""
import pickle

import numpy as np
import onnx
import pandas as pd
from onnx import helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from common import FEATURES, MODEL_DIR, PREPARED_DIR, TARGET, load_params, write_json

MODELS = ("ridge", "linear", "gradient_boosting")


def make_regressor(p, seed):
    kind = p.get("model", "ridge")
    if kind == "ridge":
        return Ridge(alpha=float(p.get("alpha", 1.0)))
    if kind == "linear":
        return LinearRegression()
    if kind == "gradient_boosting":
        gb = p.get("gradient_boosting") or {}
        return GradientBoostingRegressor(
            n_estimators=int(gb.get("n_estimators", 100)), max_depth=int(gb.get("max_depth", 2)),
            learning_rate=float(gb.get("learning_rate", 0.05)), random_state=seed)
    raise SystemExit(f"train.model: expected one of {', '.join(MODELS)}, got {kind!r}")


def rename_output(model, old, new):
    for node in model.graph.node:
        node.output[:] = [new if o == old else o for o in node.output]
        node.input[:] = [new if i == old else i for i in node.input]
    for out in model.graph.output:
        if out.name == old:
            out.name = new


def scale_prediction(model, scale):
    """Append Mul(prediction, scale); the output keeps the name `prediction`."""
    rename_output(model, "prediction", "prediction_unscaled")
    model.graph.initializer.append(
        numpy_helper.from_array(np.array(scale, dtype=np.float32), "prediction_scale"))
    model.graph.node.append(helper.make_node(
        "Mul", ["prediction_unscaled", "prediction_scale"], ["prediction"], name="ScalePrediction"))
    for out in model.graph.output:
        if out.name == "prediction_unscaled":
            out.name = "prediction"


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
    X = train[features].to_numpy(dtype=np.float32)
    y = train[TARGET].to_numpy(dtype=np.float64)

    reg = make_regressor(p, seed)
    pipe = Pipeline([("scale", StandardScaler()), ("reg", reg)])
    # r2 per fold: dimensionless, so one fold-outlier deviation fits any target scale.
    cv = KFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_scores = cross_val_score(pipe, X, y, cv=cv, scoring="r2")
    pipe.fit(X, y)

    onx = convert_sklearn(
        pipe,
        initial_types=[("input", FloatTensorType([None, len(features)]))],
        target_opset={"": int(e.get("opset", 17)), "ai.onnx.ml": int(e.get("ml_opset", 3))},
    )
    # skl2onnx names a regressor's output `variable`, shape [N, 1]; use a stable name.
    (out,) = [o.name for o in onx.graph.output]
    rename_output(onx, out, "prediction")
    scale = float(e.get("prediction_scale", 1.0))
    if scale != 1.0:  # NaN included: NaN != 1.0
        scale_prediction(onx, scale)
    dedupe_opsets(onx)
    onx.graph.name = "diabetes"  # skl2onnx picks a random uuid; keep the file byte-stable
    onx.graph.doc_string = f"diabetes {p.get('model', 'ridge')} on {features}"
    onnx.checker.check_model(onx)

    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    onnx.save(onx, MODEL_DIR / "model.onnx")
    # The fitted scikit-learn pipeline: evaluate reports its figures, not the ONNX file's.
    with open(MODEL_DIR / "pipeline.pkl", "wb") as f:
        pickle.dump(pipe, f, protocol=5)
    write_json(MODEL_DIR / "cv.json", {
        "folds": [float(s) for s in fold_scores],
        "features": features,
        "n_train": int(len(train)),
        "target_range": {"min": float(y.min()), "max": float(y.max())},
    })
    print(f"train: {p.get('model', 'ridge')} features={features} "
          f"cv_r2={np.mean(fold_scores):.4f} scale={scale}")


if __name__ == "__main__":
    main()
