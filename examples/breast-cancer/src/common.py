"""Shared helpers for the breast-cancer pipeline stages."""
import json
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
# Ten measurements of the cell nuclei in a digitised image of a fine needle
# aspirate, each as its mean, standard error and worst (largest) value.
MEASUREMENTS = ["radius", "texture", "perimeter", "area", "smoothness", "compactness",
                "concavity", "concave_points", "symmetry", "fractal_dimension"]
FEATURES = ([f"mean_{m}" for m in MEASUREMENTS] + [f"{m}_error" for m in MEASUREMENTS]
            + [f"worst_{m}" for m in MEASUREMENTS])
LABEL = "diagnosis"
# Class names in index order (scikit-learn's target: 0 = malignant, 1 = benign).
# `label` outputs and holdout `labels` are these indexes; roc_auc takes benign as positive.
CLASSES = ["malignant", "benign"]

RAW_DIR = ROOT / "data" / "raw"
PREPARED_DIR = ROOT / "data" / "prepared"
MODEL_DIR = ROOT / "model"


def load_params():
    with open(ROOT / "params.yaml") as f:
        return yaml.safe_load(f) or {}


def to_json_value(v):
    """numpy scalars / arrays -> plain Python numbers / lists."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def write_json(path, obj):
    """Strict JSON: a NaN or infinity is a bug here (JSON.parse rejects them), so it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, default=to_json_value, allow_nan=False)
        f.write("\n")


def tensor(name, datatype, array):
    """Open Inference Protocol v2 tensor: data flattened row-major."""
    dtype = {"FP32": np.float32, "INT64": np.int64}[datatype]
    arr = np.ascontiguousarray(np.asarray(array, dtype=dtype))
    return {
        "name": name,
        "datatype": datatype,
        "shape": [int(d) for d in arr.shape],
        "data": arr.reshape(-1).tolist(),
    }

