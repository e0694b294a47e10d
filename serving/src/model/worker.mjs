// One inference worker thread: holds one onnxruntime InferenceSession and runs
// the jobs the pool sends it, one at a time. onnxruntime-node's session.run
// blocks the event loop, so serving never runs it on the main thread. Plain
// .mjs so it runs without tsx's loader (worker threads do not inherit it).
//
// workerData: { modelPath: string, threads: number }
// posts once: { type: 'ready', inputs: TensorSpec[], outputs: TensorSpec[] } | { type: 'failed', message }
// receives:   { type: 'run', id, inputs: InferTensor[], outputs?: string[] }
// posts:      { type: 'result', id, ok: true, outputs: InferTensor[] } | { type: 'result', id, ok: false, message }
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const TO_ORT = {
  BOOL: 'bool', UINT8: 'uint8', INT8: 'int8', UINT16: 'uint16', INT16: 'int16', UINT32: 'uint32', INT32: 'int32',
  INT64: 'int64', UINT64: 'uint64', FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};
const FROM_ORT = Object.fromEntries(Object.entries(TO_ORT).map(([oip, t]) => [t, oip]));

const errorText = (err) => (err instanceof Error ? err.message : String(err));

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

function fromOrt(name, value, transfer) {
  const datatype = FROM_ORT[value.type] ?? 'BYTES';
  const shape = Array.from(value.dims, Number);
  let data;
  if (value.type === 'bool') data = Array.from(value.data, (v) => v !== 0);
  else if (value.type === 'string') data = Array.from(value.data, String);
  else {
    // A copy owned by this thread, so its buffer can be transferred.
    data = value.data.slice();
    transfer.push(data.buffer);
  }
  return { name, datatype, shape, data };
}

let session;
let tensorOutputs = [];

async function run(msg) {
  const feeds = {};
  for (const t of msg.inputs) feeds[t.name] = new ort.Tensor(TO_ORT[t.datatype], t.data, t.shape);
  const fetches = msg.outputs && msg.outputs.length ? msg.outputs : tensorOutputs;
  const out = await session.run(feeds, fetches);
  const transfer = [];
  const outputs = fetches.filter((n) => out[n] !== undefined).map((n) => fromOrt(n, out[n], transfer));
  return { outputs, transfer };
}

// Jobs run strictly one after another (the pool sends one at a time anyway).
let chain = Promise.resolve();
parentPort.on('message', (msg) => {
  // Tests simulate a crashed worker with this (between runs: see pool.ts).
  if (msg?.type === 'exit') process.exit(1);
  if (msg?.type !== 'run') return;
  chain = chain.then(async () => {
    try {
      const { outputs, transfer } = await run(msg);
      parentPort.postMessage({ type: 'result', id: msg.id, ok: true, outputs }, transfer);
    } catch (err) {
      parentPort.postMessage({ type: 'result', id: msg.id, ok: false, message: errorText(err) });
    }
  });
});

try {
  const threads = Math.max(1, Number(workerData.threads) || 1);
  session = await ort.InferenceSession.create(workerData.modelPath, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const outputs = specs(session.outputMetadata);
  tensorOutputs = outputs.map((o) => o.name);
  parentPort.postMessage({ type: 'ready', inputs: specs(session.inputMetadata), outputs });
} catch (err) {
  parentPort.postMessage({ type: 'failed', message: errorText(err) });
}
