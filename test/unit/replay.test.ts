import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { workflowBundle } from '../harness/stack.ts';
import { REPO_ROOT } from '../harness/paths.ts';

// Histories recorded from real runs (test/harness/record-histories.ts). Replaying
// them against today's workflow code fails on any change that would break a
// training already in flight: such changes need patched().
const dir = path.join(REPO_ROOT, 'test/fixtures/histories');
const histories = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('workflow determinism: recorded histories replay', () => {
  it('has recorded histories', () => {
    expect(histories).toEqual(expect.arrayContaining(['train-model-accepted.json', 'train-model-rejected.json', 'nightly-no-new-data.json', 'nightly-trained.json']));
  });

  it.each(histories)('%s replays without nondeterminism', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history);
  }, 60_000);
});
