// Worker thread for the gate: onnxruntime-node's session.run blocks the event
// loop, and the calling Temporal activity must keep heartbeating. Plain .mjs
// so it runs without tsx's loader (worker threads do not inherit it reliably).
//
// workerData: { modelPath: string, batches: Tensor[][] }  (OIP v2 tensors)
// posts:      { ok: true, model: {inputs, outputs}, results: Tensor[][] }
//           | { ok: false, phase: 'load' | 'run', message: string, model?: {inputs, outputs} }
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

// OIP datatype -> [onnxruntime type, typed array constructor or null for plain arrays]
const TO_ORT = {
  BOOL: ['bool', Uint8Array],
  UINT8: ['uint8', Uint8Array],
  INT8: ['int8', Int8Array],
  UINT16: ['uint16', Uint16Array],
  INT16: ['int16', Int16Array],
  UINT32: ['uint32', Uint32Array],
  INT32: ['int32', Int32Array],
  INT64: ['int64', BigInt64Array],
  UINT64: ['uint64', BigUint64Array],
  FP32: ['float32', Float32Array],
  FP64: ['float64', Float64Array],
  BYTES: ['string', null],
};
const FROM_ORT = Object.fromEntries(Object.entries(TO_ORT).map(([oip, [t]]) => [t, oip]));
FROM_ORT.float16 = 'FP16';

function toOrt(t) {
  const entry = TO_ORT[t.datatype];
  if (!entry) throw new Error(`input ${t.name}: datatype ${t.datatype} is not supported`);
  const [type, Ctor] = entry;
  let data;
  if (!Ctor) data = t.data.map(String);
  else if (Ctor === BigInt64Array || Ctor === BigUint64Array) data = Ctor.from(t.data, (v) => BigInt(Math.trunc(Number(v))));
  else data = Ctor.from(t.data, (v) => Number(v));
  return new ort.Tensor(type, data, t.shape);
}

function fromOrt(name, value) {
  const datatype = FROM_ORT[value.type] ?? 'BYTES';
  let data;
  if (value.type === 'bool') data = Array.from(value.data, (v) => v !== 0);
  else if (value.type === 'string') data = Array.from(value.data, String);
  else data = Array.from(value.data, (v) => Number(v)); // bigint -> number
  return { name, datatype, shape: Array.from(value.dims, Number), data };
}

// Free (symbolic or unknown) dimensions become -1; non-tensor values (e.g. a
// ZipMap's sequence of maps) have no TensorSpec and are left out.
function specs(metadata) {
  return metadata
    .filter((m) => m.isTensor)
    .map((m) => ({
      name: m.name,
      datatype: FROM_ORT[m.type] ?? 'BYTES',
      shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    }));
}

const errorText = (err) => (err instanceof Error ? err.message : String(err));

async function main() {
  const { modelPath, batches } = workerData;
  let session;
  try {
    session = await ort.InferenceSession.create(modelPath);
  } catch (err) {
    return { ok: false, phase: 'load', message: errorText(err) };
  }
  let model;
  try {
    model = { inputs: specs(session.inputMetadata), outputs: specs(session.outputMetadata) };
    const tensorOutputs = new Set(model.outputs.map((o) => o.name));
    const results = [];
    for (const inputs of batches) {
      const feeds = Object.fromEntries(inputs.map((t) => [t.name, toOrt(t)]));
      const out = await session.run(feeds);
      results.push(Object.entries(out).filter(([n]) => tensorOutputs.has(n)).map(([n, v]) => fromOrt(n, v)));
    }
    return { ok: true, model, results };
  } catch (err) {
    return { ok: false, phase: 'run', message: errorText(err), model };
  } finally {
    await session.release().catch(() => {});
  }
}

parentPort.postMessage(await main());
