import { elementsOf, type TensorData, type TypedTensor } from '@cd4ml/onnx';

// Dynamic batching's tensor work: the inputs of several requests stacked
// along dimension 0 into one run, and the run's outputs split back per request.

/** Rows start..end of a batch's output: a view for typed arrays (no copy: the batch's buffer is this thread's alone). */
function rowsOf(data: TensorData, start: number, end: number): TensorData {
  return (Array.isArray(data) ? data.slice(start, end) : data.subarray(start, end)) as TensorData;
}

/** Stacks the same input of several requests along dimension 0 (one fresh buffer). */
export function concatTensors(parts: readonly TypedTensor[]): TypedTensor {
  const first = parts[0];
  if (!first) throw new Error('concatTensors: nothing to concatenate');
  if (parts.length === 1) return first;
  const rows = parts.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
  const shape = [rows, ...first.shape.slice(1)];
  const total = parts.reduce((n, p) => n + p.data.length, 0);
  let data: TensorData;
  if (Array.isArray(first.data)) {
    data = (parts as TypedTensor[]).flatMap((p) => p.data as unknown[]) as TensorData;
  } else {
    const Ctor = (first.data as Float32Array).constructor as Float32ArrayConstructor;
    const out = new Ctor(total);
    let at = 0;
    for (const p of parts) {
      out.set(p.data as unknown as Float32Array, at);
      at += p.data.length;
    }
    data = out as unknown as TensorData;
  }
  return { name: first.name, datatype: first.datatype, shape, data };
}

/** Concatenates the inputs of several requests (each in the same input order) along dimension 0. */
export function concatRequests(requests: readonly (readonly TypedTensor[])[]): TypedTensor[] {
  const first = requests[0];
  if (!first) return [];
  return first.map((_, i) => concatTensors(requests.map((r) => r[i]!)));
}

/**
 * Splits batched outputs back per request: `rows[k]` rows go to request k.
 * Returns null when some output's first dimension is not the batch (its size
 * differs from the total rows), in which case the caller must not split.
 */
export function splitOutputs(outputs: readonly TypedTensor[], rows: readonly number[]): TypedTensor[][] | null {
  const total = rows.reduce((a, b) => a + b, 0);
  for (const o of outputs) {
    if (o.shape.length === 0 || o.shape[0] !== total) return null;
    if (o.data.length !== elementsOf(o.shape)) return null;
  }
  const result: TypedTensor[][] = rows.map(() => []);
  for (const o of outputs) {
    const tail = o.shape.slice(1);
    const rowSize = elementsOf(tail);
    let at = 0;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k]!;
      result[k]!.push({ name: o.name, datatype: o.datatype, shape: [r, ...tail], data: rowsOf(o.data, at * rowSize, (at + r) * rowSize) });
      at += r;
    }
  }
  return result;
}
