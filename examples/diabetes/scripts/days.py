"""The diabetes data set (bundled with scikit-learn), shuffled with a fixed seed and cut into daily chunks."""
import argparse
import os
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes

# How many daily chunks the data set is cut into; CD4ML_EXAMPLE_DAYS (ExampleRepo's `days`) cuts
# finer, for more new days than the default leaves (days 1-6 are the initial data).
N_DAYS = int(os.environ.get("CD4ML_EXAMPLE_DAYS", "10"))
SEED = 20240601
TARGET = "progression"


def day_name(day):
    return f"day-{day:03d}.csv"


def load():
    """442 patients: 10 baseline measurements in their original units and the disease progression a year later."""
    df = load_diabetes(as_frame=True, scaled=False).frame
    return df.rename(columns={"target": TARGET})


def chunks():
    df = load()
    order = np.random.default_rng(SEED).permutation(len(df))
    df = df.iloc[order].reset_index(drop=True)
    parts = np.array_split(np.arange(len(df)), N_DAYS)
    return [df.iloc[idx] for idx in parts]


def write_day(data_dir, day, parts=None):
    parts = parts if parts is not None else chunks()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / day_name(day)
    parts[day - 1].to_csv(path, index=False)
    return path


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data-dir", default="data/raw",
                    help="directory of the daily CSV chunks (relative to cwd; default data/raw)")
    return ap.parse_args()
