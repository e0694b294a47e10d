import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import {
  FailureType, GateConfig, HoldoutSet, MetricsFile, SmokeSet, describeInvalid,
  type Check, type CandidateRef, type GateDecision, type TensorSpec,
} from '@cd4ml/contracts';
import { findBaselineModel } from '../release/baseline.ts';
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
  // Inference runs in worker threads, so heartbeats keep flowing and a cancel stops it.
  const hb = startHeartbeats({ stage: 'evaluate' });
  try {
    const { plotFiles, ...evaluation } = await runGate(
      {
        modelPath: await file(files.model),
        smoke: await json(files.smoke, SmokeSet),
        holdout: await json(files.holdout, HoldoutSet),
        metrics: await json(files.metrics, MetricsFile),
        gate: gateConfig(input.gate),
        baseline: await findBaselineModel(store, input.project),
        customChecks: input.customChecks ?? [],
      },
      { signal: hb.signal },
    );
    // Plots go to the store beside the candidate (publish moves them into the release); only their names enter history.
    for (const plot of plotFiles) await store.putText(`${input.candidate.key}/${plot.file}`, plot.svg);
    return evaluation;
  } finally {
    hb.stop();
  }
}

/** A training started before a gate key existed carries its config without it: fill the defaults. */
function gateConfig(gate: unknown): GateConfig {
  const parsed = GateConfig.safeParse(gate);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(describeInvalid('gate section of cd4ml.yaml', parsed.error.issues), FailureType.ConfigInvalid);
  return parsed.data;
}
