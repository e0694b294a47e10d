import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/paths.ts';
import { DevServer } from '../harness/dev-server.ts';
import { freePort } from '../harness/free-port.ts';

/**
 * Bad Temporal settings: each process says within seconds which setting is wrong
 * and exits 1, instead of retrying for minutes or dying with a stack trace.
 */
describe('Temporal settings that do not work (real dev server)', () => {
  let server: DevServer;
  let closedPort: number;

  beforeAll(async () => {
    server = await DevServer.start();
    closedPort = await freePort();
  });
  afterAll(async () => server?.stop());

  const processes: Record<string, string[]> = {
    'control worker': ['workers/src/control-worker.ts'],
    'location worker': ['workers/src/location-worker.ts', '--location', 'local', '--workdir', path.join(REPO_ROOT, '.cd4ml/test-unused')],
    'cd4ml status': ['client/src/cli.ts', 'status', 'train/penguins/v1.0'],
    'cd4ml webhook': ['client/src/cli.ts', 'webhook', '--project', 'penguins', '--port', '0'],
  };
  const run = (args: string[], env: Record<string, string>) =>
    execa(process.execPath, ['--import', 'tsx', ...args], {
      cwd: REPO_ROOT, reject: false, all: true, timeout: 60_000,
      env: { CD4ML_WEBHOOK_SECRET: 'a-secret-of-more-than-16-chars', TEMPORAL_TLS: 'false', ...env },
    });

  it.each(Object.keys(processes))('%s: an address that does not answer names TEMPORAL_ADDRESS', async (name) => {
    const r = await run(processes[name]!, { TEMPORAL_ADDRESS: `127.0.0.1:${closedPort}` });
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain(`cannot reach Temporal at 127.0.0.1:${closedPort} (TEMPORAL_ADDRESS)`);
    expect(r.all).not.toMatch(/^\s+at /m);
  });

  it.each(Object.keys(processes))('%s: a namespace that does not exist names TEMPORAL_NAMESPACE', async (name) => {
    const r = await run(processes[name]!, { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'no-such-namespace' });
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain(`namespace "no-such-namespace" (TEMPORAL_NAMESPACE) does not exist on ${server.address}`);
  });

  it.each(Object.keys(processes))('%s: a TLS file that cannot be read names its variable', async (name) => {
    // TEMPORAL_TLS empty counts as unset: the certificate turns TLS on.
    const r = await run(processes[name]!, {
      TEMPORAL_ADDRESS: server.address, TEMPORAL_TLS: '',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent/client.key',
    });
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain('cannot read TEMPORAL_TLS_CLIENT_CERT_PATH=/nonexistent/client.pem: no such file');
    expect(r.all).not.toMatch(/^\s+at /m);
  });

  it.each(['control worker', 'cd4ml status'])('%s: TLS against a server without it names TEMPORAL_TLS', async (name) => {
    const r = await run(processes[name]!, { TEMPORAL_ADDRESS: server.address, TEMPORAL_TLS: 'true' });
    expect(r.exitCode).toBe(1);
    expect(r.all).toContain('check TEMPORAL_TLS');
  });
});
