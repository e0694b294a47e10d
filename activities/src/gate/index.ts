// The model gate: the checks that decide whether a trained candidate becomes a release.
export { runGate, type GateInput, type GateResult } from './evaluate.ts';
export {
  smokeCheck, probabilityRangeCheck, probabilitySumCheck, classBalanceCheck, foldOutlierCheck, baselineCheck,
} from './checks.ts';
