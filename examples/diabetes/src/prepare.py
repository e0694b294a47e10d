"""prepare: data/raw/*.csv -> data/prepared/{train,holdout}.csv"""
import hashlib

import numpy as np
import pandas as pd

from common import FEATURES, TARGET, PREPARED_DIR, RAW_DIR, load_params


def row_bucket(row, seed):
    """Deterministic number in [0, 1) for a row."""
    key = f"{seed}|" + "|".join(str(v) for v in row)
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def main():
    p = load_params().get("prepare", {})
    holdout_fraction = float(p.get("holdout_fraction", 0.2))
    seed = int(p.get("seed", 42))

    files = sorted(RAW_DIR.glob("*.csv"))
    if not files:
        raise SystemExit(f"no CSV files in {RAW_DIR}")
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    n_raw = len(df)
    df = df.dropna(subset=FEATURES + [TARGET]).reset_index(drop=True)

    # Each row goes to holdout or train by a seeded hash of its content, so a
    # row keeps its side when new daily chunks arrive: rows a previous model
    # was trained on never leak into a later holdout set.
    in_holdout = np.array([row_bucket(row, seed) < holdout_fraction
                           for row in df.itertuples(index=False)], dtype=bool)
    holdout = df[in_holdout]
    train = df[~in_holdout]

    PREPARED_DIR.mkdir(parents=True, exist_ok=True)
    train.to_csv(PREPARED_DIR / "train.csv", index=False)
    holdout.to_csv(PREPARED_DIR / "holdout.csv", index=False)
    print(f"prepare: {len(files)} files, {n_raw} rows, {len(df)} complete, "
          f"train={len(train)} holdout={len(holdout)}")


if __name__ == "__main__":
    main()
