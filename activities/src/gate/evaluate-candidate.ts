import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import {
  FailureType, HoldoutSet, MetricsFile, SmokeSet,
  type Check, type CandidateRef, type GateConfig, type GateDecision, type TensorSpec,
} from '@cd4ml/contracts';
import { findBaseline } from '../release/baseline.ts';
import { openStore } from '@cd4ml/stores';
import { runGate } from './evaluate.ts';
import { startHeartbeats } from '../heartbeat.ts';

export type Evaluation = GateDecision & { model: { inputs: TensorSpec[]; outputs: TensorSpec[] } };

/** The gate as an activity: reads the staged candidate and the last release, runs every check. */
export async function evaluateCandidate(input: { project: string; candidate: CandidateRef; gate: GateConfig; customChecks?: Check[] }): Promise<Evaluation> {
  const store = openStore(input.candidate.store);
  const file = (name: string) => store.localFile(`${input.candidate.key}/${name}`);
  const json = async <T>(name: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }) => {
    const parsed = schema.safeParse(JSON.parse(await readFile(await file(name), 'utf8')));
    if (!parsed.success) {
      throw ApplicationFailure.nonRetryable(`candidate ${name} is malformed: ${parsed.error.message}`, FailureType.CandidateInvalid);
    }
    return parsed.data;
  };
  const { files } = input.candidate;
  // Inference runs in a worker thread, so heartbeats keep flowing and a cancel stops it.
  const hb = startHeartbeats({ stage: 'evaluate' });
  try {
    return await runGate(
      {
        modelPath: await file(files.model),
        smoke: await json(files.smoke, SmokeSet),
        holdout: await json(files.holdout, HoldoutSet),
        metrics: await json(files.metrics, MetricsFile),
        gate: input.gate,
        baseline: await findBaseline(store, input.project),
        customChecks: input.customChecks ?? [],
      },
      { signal: hb.signal },
    );
  } finally {
    hb.stop();
  }
}
