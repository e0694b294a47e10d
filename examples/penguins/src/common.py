"""Shared helpers for the penguins pipeline stages."""
import json
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
LABEL = "species"

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, default=to_json_value)
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
