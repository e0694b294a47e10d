import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '@cd4ml/contracts';
import { createControlWorker } from '@cd4ml/workers';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DevServer } from '../harness/dev-server.ts';
import { workflowBundle } from '../harness/stack.ts';

/** A server that lacks cd4ml's search attributes: the control worker registers them before it polls. */
describe('search attributes on a bare server (real dev server)', () => {
  let server: DevServer;
  let dir: string;

  beforeAll(async () => {
    server = await DevServer.start({ searchAttributes: false });
    dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-sa-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const listed = async () => Object.keys((await server.env.client.connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes ?? {});

  it('registers what is missing, once, and says so', async () => {
    expect(await listed()).not.toContain('Cd4mlProject');
    const start = async () => {
      const lines: string[] = [];
      const { worker, close } = await createControlWorker({
        temporal: { address: server.address, namespace: 'default', tls: false }, home: dir, store: path.join(dir, 'releases'),
        workflowBundle: await workflowBundle(), log: (m) => lines.push(m),
      });
      await worker.runUntil(Promise.resolve());
      await close();
      return lines;
    };
    expect(await start()).toEqual([`registered the search attributes ${Object.keys(SEARCH_ATTRIBUTES).join(', ')} in namespace default`]);
    expect(await listed()).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)));
    expect(await start()).toEqual([]);
  });
});
