"""The Python route the gate benchmark compares with: what a team would script by
hand to do the gate's work. Both models run with onnxruntime on the holdout, the
task's metrics come from scikit-learn, and the paired bootstrap (1000 resamples,
the same as cd4ml's default) is vectorised numpy.

  python bench/gate/python_gate.py <task dir> <rows>   -> prints {"seconds": ...}
"""
import json
import pathlib
import sys
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402  (imports count: the gate loads its code too)
import onnxruntime as ort  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

t_imported = time.perf_counter()
task_dir = pathlib.Path(sys.argv[1])
rows = sys.argv[2]
holdout = json.loads((task_dir / rows / "holdout.json").read_text())
inp = holdout["inputs"][0]
X = np.asarray(inp["data"], dtype=np.float32).reshape(inp["shape"])
regression = "targets" in holdout
y = np.asarray(holdout["targets"] if regression else holdout["labels"])


def run(model):
    sess = ort.InferenceSession(str(task_dir / model), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": X})


cand, base = run("candidate.onnx"), run("baseline.onnx")
rng = np.random.default_rng(1)
B = 1000
n = len(y)
if regression:
    pc, pb = cand[0].ravel().astype(np.float64), base[0].ravel().astype(np.float64)
    figures = {m: (skm.root_mean_squared_error(y, p), skm.mean_absolute_error(y, p), skm.r2_score(y, p)) for m, p in (("c", pc), ("b", pb))}
    ec, eb = (pc - y) ** 2, (pb - y) ** 2
    diffs = np.empty(B)
    for b in range(B):
        idx = rng.integers(0, n, n)
        diffs[b] = np.sqrt(ec[idx].mean()) - np.sqrt(eb[idx].mean())
else:
    (lc, prc), (lb, prb) = cand, base
    figures = {m: (skm.accuracy_score(y, l), skm.balanced_accuracy_score(y, l), skm.f1_score(y, l, average="macro"),
                   skm.log_loss(y, p, labels=[0, 1, 2])) for m, l, p in (("c", lc, prc), ("b", lb, prb))}
    d = (lc == y).astype(np.float64) - (lb == y).astype(np.float64)
    diffs = np.empty(B)
    for b in range(B):
        diffs[b] = d[rng.integers(0, n, n)].mean()
lo, hi = np.quantile(diffs, [0.025, 0.975])
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t_imported, "withImports": t1 - t0, "lo": lo, "hi": hi}))
