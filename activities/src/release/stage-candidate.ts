import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { parse } from 'yaml';
import { candidateKey, FailureType, MetricsFile, type CandidateRef, type OutputsConfig } from '@cd4ml/contracts';
import { openStore, sha256File } from '@cd4ml/stores';

/**
 * Copies what the gate needs from the checkout into the release store, so
 * the control worker can read it wherever the location runs. Only the
 * returned reference enters workflow history.
 */
export async function stageCandidate(
  dir: string,
  input: { store: string; project: string; tag: string; outputs: OutputsConfig; data: Record<string, string> },
): Promise<CandidateRef> {
  const { outputs } = input;
  const missing: string[] = [];
  for (const [what, file] of Object.entries(outputs)) {
    try {
      await stat(path.join(dir, file));
    } catch {
      missing.push(`${what}: ${file}`);
    }
  }
  if (missing.length) {
    throw ApplicationFailure.nonRetryable(
      `dvc repro finished but these outputs named in cd4ml.yaml are missing: ${missing.join(', ')}. Make the pipeline write them, or fix "outputs" in cd4ml.yaml`,
      FailureType.CandidateInvalid,
    );
  }
  const metricsParsed = MetricsFile.safeParse(JSON.parse(await readFile(path.join(dir, outputs.metrics), 'utf8')));
  if (!metricsParsed.success) {
    throw ApplicationFailure.nonRetryable(
      `${outputs.metrics}: ${metricsParsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      FailureType.CandidateInvalid,
    );
  }
  let params: Record<string, unknown> = {};
  try {
    params = (parse(await readFile(path.join(dir, 'params.yaml'), 'utf8')) as Record<string, unknown>) ?? {};
  } catch {
    /* a pipeline without params.yaml is fine */
  }

  const store = openStore(input.store);
  const key = candidateKey(input.project, input.tag);
  const files = { model: 'model.onnx', metrics: 'metrics.json', smoke: 'smoke.json', holdout: 'holdout.json' };
  for (const what of Object.keys(files) as (keyof typeof files)[]) {
    await store.putFile(`${key}/${files[what]}`, path.join(dir, outputs[what]));
  }
  const modelPath = path.join(dir, outputs.model);
  return {
    store: input.store,
    key,
    files,
    model: { sha256: await sha256File(modelPath), bytes: (await stat(modelPath)).size },
    data: input.data,
    params,
    metrics: metricsParsed.data,
  };
}
