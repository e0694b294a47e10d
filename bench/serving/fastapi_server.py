"""The comparison: an ONNX model behind FastAPI, written the usual way.

Pydantic models for the Open Inference Protocol v2 JSON body, one
onnxruntime session, numpy in and out, uvicorn with its defaults.
Run: python fastapi_server.py <model.onnx> <port>
"""
import sys
from typing import Any, List, Optional

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32}
NAMES = {np.dtype(v).name: k for k, v in DTYPES.items()}

session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
app = FastAPI()


class InputTensor(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[Any]


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[InputTensor]


@app.get("/v2/health/ready")
def ready():
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
def infer(name: str, request: InferRequest):
    feeds = {}
    for t in request.inputs:
        if t.datatype not in DTYPES:
            raise HTTPException(400, f"unsupported datatype {t.datatype}")
        feeds[t.name] = np.asarray(t.data, dtype=DTYPES[t.datatype]).reshape(t.shape)
    results = session.run(None, feeds)
    outputs = [
        {"name": o.name, "shape": list(r.shape), "datatype": NAMES.get(r.dtype.name, "BYTES"), "data": r.ravel().tolist()}
        for o, r in zip(session.get_outputs(), results)
    ]
    return {"model_name": name, "id": request.id, "outputs": outputs}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
