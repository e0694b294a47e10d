// @cd4ml/onnx: tensors and onnxruntime, shared by the gate and serving.
export { DATATYPES, ORT_TYPES, elementBytes, isDatatype, isHeldAs, type DatatypeInfo, type TypedArray, type TypedArrayConstructor } from './datatypes.ts';
export { elementsOf, shapeText, specText, type ModelSignature, type TensorData, type TypedTensor } from './tensor.ts';
export { fromJsonTensor, plainValues, toJsonTensor, toTypedData } from './convert.ts';
export { floatToHalf, halfToFloat } from './float16.ts';
export { formatNumber } from './format.ts';
export { InputError, OnnxError } from './errors.ts';
export { batchable, checkSignature, compareSignatures, validateInputs, type ValidInputs } from './validate.ts';
export { compareOutputs, type OutputTensor, type SmokeVerdict } from './smoke.ts';
export { SessionThread, type ResultMessage, type StartOptions, type ThreadListener } from './session-thread.ts';
export { describeModel, runModelOnce, type RunOnceOptions, type RunOnceResult } from './run-once.ts';
