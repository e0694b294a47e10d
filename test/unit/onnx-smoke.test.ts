import { describe, expect, it } from 'vitest';
import type { Tensor } from '@cd4ml/contracts';
import { compareOutputs, floatToHalf, type OutputTensor } from '@cd4ml/onnx';

// The smoke comparison the gate's `smoke` check and serving's pre-live test share.
const expected: Tensor[] = [
  { name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] },
  { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.25, 0.75, 0.5, 0.5] },
];
const label = (data: bigint[]): OutputTensor => ({ name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from(data) });
const probs = (data: number[], shape = [2, 2]): OutputTensor => ({ name: 'probabilities', datatype: 'FP32', shape, data: Float32Array.from(data) });
const jsonProbs = (data: number[]): OutputTensor => ({ name: 'probabilities', datatype: 'FP32', shape: [2, 2], data });

describe('compareOutputs', () => {
  it.each<[string, OutputTensor[], boolean, RegExp]>([
    ['identical', [label([0n, 2n]), probs([0.25, 0.75, 0.5, 0.5])], true, /^label exact \(2 values\); probabilities max \|diff\| 0 <= tolerance 1.0e-4$/],
    ['within tolerance, JSON values', [label([0n, 2n]), jsonProbs([0.25003, 0.75, 0.5, 0.5])], true, /probabilities max \|diff\| 3.0e-5 <= tolerance 1.0e-4/],
    ['beyond tolerance', [label([0n, 2n]), probs([0.25, 0.75, 0.5, 0.5003])], false,
      /^probabilities max \|diff\| 3.0e-4 at \[3\] \(0.5003 vs expected 0.5\) > tolerance 1.0e-4$/],
    ['NaN output', [label([0n, 2n]), probs([0.25, NaN, 0.5, 0.5])], false, /max \|diff\| Infinity at \[1\] \(NaN vs expected 0.75\)/],
    ['integer differs', [label([0n, 1n]), probs([0.25, 0.75, 0.5, 0.5])], false, /^label: 1 of 2 values differ \(first \[1\]: 1 vs expected 2\)$/],
    ['integer within the tolerance still differs', [{ ...label([0n, 2n]), data: [0, 2.00001] }, probs([0.25, 0.75, 0.5, 0.5])], false, /label: 1 of 2 values differ/],
    ['missing output', [label([0n, 2n])], false, /^output probabilities missing \(model gave: label\)$/],
    ['shape differs', [label([0n, 2n]), probs([0.25, 0.75, 0.5, 0.5], [1, 4])], false, /^probabilities shape \[1,4\] != expected \[2,2\]$/],
    ['every problem named', [label([1n, 2n])], false, /^label: 1 of 2 .*; output probabilities missing/],
  ])('%s', (_, actual, passed, detail) => {
    const verdict = compareOutputs(actual, expected, 1e-4);
    expect(verdict.passed).toBe(passed);
    expect(verdict.detail).toMatch(detail);
  });

  it('reads BOOL bytes against JSON booleans, and FP16 bits as the floats they hold', () => {
    const exp: Tensor[] = [
      { name: 'ok', datatype: 'BOOL', shape: [2], data: [true, false] },
      { name: 'h', datatype: 'FP16', shape: [2], data: [0.5, -2] },
    ];
    const good: OutputTensor[] = [
      { name: 'ok', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
      { name: 'h', datatype: 'FP16', shape: [2], data: Uint16Array.from([floatToHalf(0.5), floatToHalf(-2)]) },
    ];
    expect(compareOutputs(good, exp, 1e-3)).toEqual({ passed: true, detail: 'ok exact (2 values); h max |diff| 0 <= tolerance 0.001' });
    expect(compareOutputs([{ ...good[0]!, data: Uint8Array.from([0, 0]) }, good[1]!], exp, 1e-3).passed).toBe(false);
  });
});
