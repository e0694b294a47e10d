// One onnxruntime InferenceSession in a worker thread, for the gate (one
// thread per evaluation) and for serving (long-lived threads fed batches).
// onnxruntime-node's session.run blocks its thread, so neither runs it on the
// main one. Plain .mjs: worker threads do not reliably inherit tsx's loader.
// session-thread.ts is the other side of this protocol.
//
// workerData: { ortTypes: Record<Datatype, ort type name> }
// receives once: { type: 'load', modelPath: string, threads?: number }  (a thread may start before it
//                knows its model, with onnxruntime already loaded: a warm spare for the gate)
// posts once: { type: 'ready', inputs: TensorSpec[], outputs: TensorSpec[] } | { type: 'failed', message }
// receives:   { type: 'run', id, inputs: TypedTensor[], outputs?: string[] }
// posts:      { type: 'result', id, ok: true, outputs: TypedTensor[] } (output buffers moved, not copied)
//           | { type: 'result', id, ok: false, message }
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const { ortTypes } = workerData;
const FROM_ORT = Object.fromEntries(Object.entries(ortTypes).map(([oip, t]) => [t, oip]));

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
  let data = value.data;
  if (ArrayBuffer.isView(data)) {
    // onnxruntime hands each output its own buffer: move it. A view of a larger or shared one is copied first.
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !transfer.includes(data.buffer);
    if (!whole) data = data.slice();
    transfer.push(data.buffer);
  }
  return { name, datatype: FROM_ORT[value.type] ?? 'BYTES', shape: Array.from(value.dims, Number), data };
}

let session;
let tensorOutputs = [];

async function run(msg) {
  const feeds = {};
  for (const t of msg.inputs) feeds[t.name] = new ort.Tensor(ortTypes[t.datatype], t.data, t.shape);
  const fetches = msg.outputs && msg.outputs.length ? msg.outputs : tensorOutputs;
  const out = await session.run(feeds, fetches);
  const transfer = [];
  const outputs = fetches.filter((n) => out[n] !== undefined).map((n) => fromOrt(n, out[n], transfer));
  return { outputs, transfer };
}

// Jobs run strictly one after another (both callers send one at a time anyway).
let chain = Promise.resolve();
parentPort.on('message', (msg) => {
  // Tests simulate a crashed worker with this.
  if (msg?.type === 'exit') process.exit(1);
  if (msg?.type === 'load') return void load(msg);
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

async function load({ modelPath, threads }) {
  try {
    const options = threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {};
    session = await ort.InferenceSession.create(modelPath, options);
    const outputs = specs(session.outputMetadata);
    tensorOutputs = outputs.map((o) => o.name);
    parentPort.postMessage({ type: 'ready', inputs: specs(session.inputMetadata), outputs });
  } catch (err) {
    parentPort.postMessage({ type: 'failed', message: errorText(err) });
  }
}
