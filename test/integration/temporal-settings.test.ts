import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/paths.ts';
import { DevServer } from '../harness/dev-server.ts';
import { freePort } from '../harness/free-port.ts';
import { TlsFronts } from '../harness/tls-proxy.ts';

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
  const run = (args: string[], env: Record<string, string>, timeout = 60_000) =>
    execa(process.execPath, ['--import', 'tsx', ...args], {
      cwd: REPO_ROOT, reject: false, all: true, timeout,
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

  // The dev server has no TLS: a TLS proxy in front of it, with certificates made for the run.
  describe('over TLS (the dev server behind test/harness/tls-proxy.ts)', () => {
    let fronts: TlsFronts;
    beforeAll(async () => {
      fronts = await TlsFronts.start(server.address);
    });
    afterAll(async () => fronts?.stop());

    /** What each process says once it is connected (then a long-running one is stopped). */
    const ready: Record<string, RegExp> = {
      'control worker': /control worker: polling/,
      'location worker': /location worker: polling/,
      'cd4ml status': /no run with id train\/penguins\/v1\.0/,
      'cd4ml webhook': /webhook gateway listening on/,
    };
    const connects = async (name: string, env: Record<string, string>) => {
      // A control worker bundles its workflows before it polls: on a busy machine that takes a while.
      const proc = run(processes[name]!, { TEMPORAL_TLS: '', ...env }, 120_000);
      let out = '';
      proc.all!.on('data', (d: Buffer) => {
        out += d.toString();
        if (ready[name]!.test(out)) proc.kill('SIGTERM');
      });
      const r = await proc;
      expect(r.all).toMatch(ready[name]!);
      expect(r.all).not.toContain('cannot');
    };
    /** Exit 1 within seconds, one line naming the setting, no stack, no certificate or key content. */
    const refuses = async (name: string, env: Record<string, string>, ...says: string[]) => {
      const r = await run(processes[name]!, { TEMPORAL_TLS: '', ...env });
      expect(r.exitCode).toBe(1);
      expect(r.durationMs).toBeLessThan(30_000);
      for (const s of says) expect(r.all).toContain(s);
      expect(r.all).not.toMatch(/^\s+at /m);
      expect(r.all).not.toContain('-----BEGIN');
    };

    it.each(Object.keys(processes))('%s: mTLS with the right CA and client certificate connects', async (name) => {
      await connects(name, { TEMPORAL_ADDRESS: fronts.mtls.address, ...fronts.ca, ...fronts.pair(fronts.certs.client) });
    });

    it.each(Object.keys(processes))('%s: a server certificate of a private CA, no CA set, names TEMPORAL_TLS_SERVER_CA_CERT_PATH', async (name) => {
      await refuses(name, { TEMPORAL_ADDRESS: fronts.tls.address, TEMPORAL_TLS: 'true' },
        `cannot connect to Temporal at ${fronts.tls.address} (TEMPORAL_ADDRESS) over TLS: the server's certificate is not signed by a CA node trusts by default`,
        'set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the PEM file of the CA that signed it');
    });

    it('cd4ml status: the wrong CA names TEMPORAL_TLS_SERVER_CA_CERT_PATH and its path', async () => {
      await refuses('cd4ml status', { TEMPORAL_ADDRESS: fronts.tls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: fronts.certs.untrustedCa },
        `the server's certificate is not signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH=${fronts.certs.untrustedCa}`);
    });

    it.each(['control worker', 'cd4ml status'])('%s: a certificate for another name names TEMPORAL_TLS_SERVER_NAME; with it set, connects', async (name) => {
      await refuses(name, { TEMPORAL_ADDRESS: fronts.otherName.address, ...fronts.ca },
        'the server\'s certificate is for DNS:other.example, not for 127.0.0.1 (the host of TEMPORAL_ADDRESS): set TEMPORAL_TLS_SERVER_NAME');
      await connects(name, { TEMPORAL_ADDRESS: fronts.otherName.address, ...fronts.ca, TEMPORAL_TLS_SERVER_NAME: 'other.example' });
    });

    it.each(['control worker', 'cd4ml status'])('%s: mTLS without a client certificate names TEMPORAL_TLS_CLIENT_CERT_PATH and _KEY_PATH', async (name) => {
      await refuses(name, { TEMPORAL_ADDRESS: fronts.mtls.address, ...fronts.ca },
        'the server asks for a client certificate (mTLS) and none is set: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH');
    });

    it.each(['control worker', 'cd4ml status'])('%s: a client certificate of a CA the server does not trust names TEMPORAL_TLS_CLIENT_CERT_PATH and _KEY_PATH', async (name) => {
      await refuses(name, { TEMPORAL_ADDRESS: fronts.mtls.address, ...fronts.ca, ...fronts.pair(fronts.certs.untrustedClient) },
        `the server refused the client certificate in TEMPORAL_TLS_CLIENT_CERT_PATH=${fronts.certs.untrustedClient.cert}`,
        'set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH');
    });
  });
});
