import type { Datatype, Tensor } from '@cd4ml/contracts';
import { DATATYPES } from './datatypes.ts';
import { halfToFloat } from './float16.ts';
import { formatNumber as fmt } from './format.ts';
import { shapeText } from './tensor.ts';

// The smoke comparison, one wording for the gate's `smoke` check and for
// serving's test of a release before it goes live: do these outputs match the
// expected ones? Same names and shapes; floats within the tolerance; integers,
// booleans and strings exactly.

/** An output as a model gave it: typed (TypedTensor) or plain JSON values (Tensor). */
export interface OutputTensor {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  data: ArrayLike<unknown>;
}

export interface SmokeVerdict {
  passed: boolean;
  /** What differs, or on success what was compared and how closely. */
  detail: string;
}

/** Element reader: FP16 typed data holds raw half bits. */
const reader = (t: OutputTensor): ((i: number) => unknown) =>
  t.datatype === 'FP16' && t.data instanceof Uint16Array ? (i) => halfToFloat((t.data as Uint16Array)[i]!) : (i) => t.data[i];

/** Booleans read as 0/1, as BOOL tensors hold them. */
const asText = (v: unknown): string => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v));

/** One expected output against the actual one: [true, note] or [false, problem]. */
function compareOne(got: OutputTensor, exp: Tensor, tolerance: number): [boolean, string] {
  if (shapeText(got.shape) !== shapeText(exp.shape) || got.data.length !== exp.data.length) {
    return [false, `${exp.name} shape ${shapeText(got.shape)} != expected ${shapeText(exp.shape)}`];
  }
  const at = reader(got);
  if (!DATATYPES[exp.datatype].float) {
    let first = -1;
    let count = 0;
    for (let i = 0; i < exp.data.length; i++) {
      if (asText(at(i)) === asText(exp.data[i])) continue;
      count++;
      if (first < 0) first = i;
    }
    if (count === 0) return [true, `${exp.name} exact (${exp.data.length} values)`];
    return [false, `${exp.name}: ${count} of ${exp.data.length} values differ (first [${first}]: ${String(at(first))} vs expected ${String(exp.data[first])})`];
  }
  let worst = -1;
  let worstDiff = 0;
  for (let i = 0; i < exp.data.length; i++) {
    const diff = Math.abs(Number(at(i)) - Number(exp.data[i]));
    // NaN on either side is the worst possible element.
    const d = Number.isNaN(diff) ? Infinity : diff;
    if (worst < 0 || d > worstDiff) [worst, worstDiff] = [i, d];
  }
  const within = `${exp.name} max |diff| ${fmt(worstDiff)}`;
  if (worstDiff <= tolerance) return [true, `${within} <= tolerance ${fmt(tolerance)}`];
  const where = `at [${worst}] (${fmt(Number(at(worst)))} vs expected ${fmt(Number(exp.data[worst]))})`;
  return [false, `${within} ${where} > tolerance ${fmt(tolerance)}`];
}

/** Every expected output is produced, same shape; floats within `tolerance`, everything else exactly. */
export function compareOutputs(actual: readonly OutputTensor[], expected: readonly Tensor[], tolerance: number): SmokeVerdict {
  const problems: string[] = [];
  const notes: string[] = [];
  for (const exp of expected) {
    const got = actual.find((t) => t.name === exp.name);
    if (!got) {
      problems.push(`output ${exp.name} missing (model gave: ${actual.map((t) => t.name).join(', ') || 'none'})`);
      continue;
    }
    const [ok, text] = compareOne(got, exp, tolerance);
    (ok ? notes : problems).push(text);
  }
  if (problems.length > 0) return { passed: false, detail: problems.join('; ') };
  return { passed: true, detail: notes.join('; ') || 'no expected outputs to compare' };
}
