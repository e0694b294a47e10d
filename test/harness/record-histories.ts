// Records the workflow histories that test/unit/replay.test.ts replays:
//   pnpm exec tsx test/harness/record-histories.ts [name ...]   (names: only these files are written)
// Re-record only for an intended change of workflow behaviour that is guarded by
// patched(), or to retire patches that only these fixtures still needed (as Temporal's
// patching sample does); otherwise a failing replay test means the change breaks running trainings.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { CONTROL_TASK_QUEUE, locationWorkflowId, type NightlyResult } from '@cd4ml/contracts';
import { Stack } from './stack.ts';
import { REPO_ROOT } from './paths.ts';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const out = path.join(REPO_ROOT, 'test/fixtures/histories');
await mkdir(out, { recursive: true });
const only = process.argv.slice(2);
const stack = await Stack.start();
try {
  await stack.example.create();
  await stack.startControlWorker();
  await stack.startLocationWorker();
  const goodParams = await readFile(path.join(stack.example.workDir, 'params.yaml'), 'utf8');
  const save = async (name: string, workflowId: string) => {
    if (only.length && !only.includes(name)) return;
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    // The same JSON as `temporal workflow show --output json` and the Web UI's download.
    await writeFile(path.join(out, `${name}.json`), historyToJSON(history) + '\n');
    console.log(`recorded ${name} (${history.events?.length} events)`);
  };
  const accepted = await stack.train({ releaseTag: 'v1.0' });
  if (accepted.decision !== 'accepted') throw new Error(`expected an accepted training: ${accepted.reasons.join('; ')}`);
  await save('train-model-accepted', 'train/penguins/v1.0');
  await stack.example.setParams({ 'train.model': 'decision_tree', 'train.max_depth': 1, 'train.features': ['body_mass_g'] });
  const rejected = await stack.train({ releaseTag: 'v1.1' });
  if (rejected.decision !== 'rejected') throw new Error('expected a rejected training');
  await save('train-model-rejected', 'train/penguins/v1.1');
  await save('location-lease', locationWorkflowId('local'));

  // Nightly runs: one that finds no new data, one that trains a child.
  const nightly = async (id: string) => {
    const args = [{ project: 'penguins', repoUrl: stack.example.repoUrl }];
    return (await stack.client.workflow.execute('nightlyTraining', { taskQueue: CONTROL_TASK_QUEUE, workflowId: id, args })) as NightlyResult;
  };
  await stack.example.writeFile('params.yaml', goodParams, 'params: back');
  if ((await stack.train({ releaseTag: 'v1.2' })).decision !== 'accepted') throw new Error('expected v1.2 accepted');
  if ((await nightly('nightly/penguins-quiet')).training) throw new Error('expected a nightly run without training');
  await save('nightly-no-new-data', 'nightly/penguins-quiet');
  await stack.example.appendDay();
  if ((await nightly('nightly/penguins-new-data')).training?.result.decision !== 'accepted') throw new Error('expected a nightly training');
  await save('nightly-trained', 'nightly/penguins-new-data');

  // A custom gate check (its own location step).
  const config = await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8');
  await stack.example.writeFile('cd4ml.yaml', config.replace('  margin: 0.02\n', '  margin: 0.02\n  checks:\n    - {name: ok, run: "echo \'{\\"passed\\": true}\'"}\n'), 'gate: a custom check');
  const sticky = await stack.train({ releaseTag: 'v1.3' });
  if (sticky.decision !== 'accepted' || !sticky.checks.some((c) => c.name === 'custom:ok')) throw new Error(`expected v1.3 accepted with its custom check: ${sticky.reasons.join('; ')}`);
  await save('train-model-custom-check', 'train/penguins/v1.3');
} finally {
  await stack.stop();
}
