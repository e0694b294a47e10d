"""MLServer peer: the same ONNX model through onnxruntime, as a custom runtime.

MLServer's documented way to serve a custom model is an MLModel subclass with
load() and predict(); its NumpyCodec turns OIP v2 tensors (REST JSON or gRPC,
contents or raw) into numpy arrays and back. The benchmark starts it with
`mlserver start bench/serving/mlserver` and the model settings in environment
variables: MLSERVER_MODEL_NAME=penguins,
MLSERVER_MODEL_IMPLEMENTATION=onnx_runtime.OnnxRuntime, MLSERVER_MODEL_URI=<model.onnx>.
"""
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class OnnxRuntime(MLModel):
    async def load(self) -> bool:
        uri = self.settings.parameters.uri if self.settings.parameters else None
        if not uri:
            raise ValueError("set the model's uri (MLSERVER_MODEL_URI) to the .onnx file")
        self._session = ort.InferenceSession(uri, providers=["CPUExecutionProvider"])
        self._outputs = [o.name for o in self._session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feeds = {inp.name: NumpyCodec.decode_input(inp) for inp in payload.inputs}
        results = self._session.run(None, feeds)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[NumpyCodec.encode_output(name, r) for name, r in zip(self._outputs, results)],
        )
