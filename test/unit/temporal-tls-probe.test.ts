// What cd4ml's own TLS handshake (contracts/src/temporal-tls-probe.ts) makes of each way TLS
// can fail, against the TLS proxy of the integration tests in front of a stand-in for a
// plaintext gRPC server, and the message each gives.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalConnectionOptions, temporalSettings, temporalUnreachable } from '@cd4ml/contracts';
import { probeTemporalTls } from '@cd4ml/contracts/temporal-tls-probe';
import { freePort } from '../harness/free-port.ts';
import { TlsFronts } from '../harness/tls-proxy.ts';

/** What the SDK says in all these cases. */
const SDK_ERROR = new Error('Failed to connect before the deadline');

describe('probeTemporalTls', () => {
  let plain: Server;
  let plainAddress: string;
  let fronts: TlsFronts;

  beforeAll(async () => {
    // A gRPC server's first bytes: an HTTP/2 SETTINGS frame, once the client has spoken.
    plain = createServer((s) => s.once('data', () => s.end(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]))).on('error', () => undefined));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    plainAddress = `127.0.0.1:${(plain.address() as { port: number }).port}`;
    fronts = await TlsFronts.start(plainAddress);
  });
  afterAll(async () => {
    await fronts?.stop();
    await new Promise((resolve) => plain?.close(resolve));
  });

  /** The settings' own connection options, probed: as the workers and the CLI do it. */
  const probe = (address: string, env: Record<string, string>) => {
    const settings = temporalSettings({ TEMPORAL_ADDRESS: address, ...env });
    const options = temporalConnectionOptions(settings);
    return probeTemporalTls(options.address, options.tls!).then((result) => ({ result, message: temporalUnreachable(settings, SDK_ERROR, result) }));
  };

  it('the right CA, name and client certificate: the handshake works, and the message says nothing about TLS', async () => {
    const { result, message } = await probe(fronts.mtls.address, { ...fronts.ca, ...fronts.pair(fronts.certs.client) });
    expect(result).toEqual({ kind: 'handshake-ok' });
    expect(message).toContain(`cannot reach Temporal at ${fronts.mtls.address} (TEMPORAL_ADDRESS): Failed to connect before the deadline.\n`);
    expect(message).not.toContain('With TLS on');
    // A host name goes as SNI and is checked against the certificate's DNS names.
    const port = fronts.mtls.address.split(':')[1];
    expect((await probe(`localhost:${port}`, { ...fronts.ca, ...fronts.pair(fronts.certs.client) })).result).toEqual({ kind: 'handshake-ok' });
  });

  it('a server certificate of a private CA, no CA set: names TEMPORAL_TLS_SERVER_CA_CERT_PATH', async () => {
    const { result, message } = await probe(fronts.tls.address, { TEMPORAL_TLS: 'true' });
    expect(result).toEqual({ kind: 'server-untrusted', reason: 'unable to verify the first certificate' });
    expect(message).toBe(`cannot connect to Temporal at ${fronts.tls.address} (TEMPORAL_ADDRESS) over TLS: the server's certificate is not signed by a CA node trusts by default ` +
      '(unable to verify the first certificate): set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the PEM file of the CA that signed it.');
  });

  it('the wrong CA set: names TEMPORAL_TLS_SERVER_CA_CERT_PATH and its path', async () => {
    const { result, message } = await probe(fronts.tls.address, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: fronts.certs.untrustedCa });
    expect(result.kind).toBe('server-untrusted');
    expect(message).toContain(`the server's certificate is not signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH=${fronts.certs.untrustedCa}`);
  });

  it('a certificate for another name: names TEMPORAL_TLS_SERVER_NAME and the names it is for; with that name set, it works', async () => {
    const { result, message } = await probe(fronts.otherName.address, fronts.ca);
    expect(result).toEqual({ kind: 'server-name', checked: '127.0.0.1', names: 'DNS:other.example' });
    expect(message).toContain('the server\'s certificate is for DNS:other.example, not for 127.0.0.1 (the host of TEMPORAL_ADDRESS): set TEMPORAL_TLS_SERVER_NAME');
    const named = await probe(fronts.otherName.address, { ...fronts.ca, TEMPORAL_TLS_SERVER_NAME: 'other.example' });
    expect(named.result).toEqual({ kind: 'handshake-ok' });
    const wrong = await probe(fronts.otherName.address, { ...fronts.ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.example' });
    expect(wrong.message).toContain('not for temporal.example (TEMPORAL_TLS_SERVER_NAME)');
  });

  it('mTLS without a client certificate, or with one of a CA the server does not trust: names the client pair', async () => {
    const none = await probe(fronts.mtls.address, fronts.ca);
    expect(none.result).toEqual({ kind: 'client-cert-required' });
    expect(none.message).toContain('the server asks for a client certificate (mTLS) and none is set: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH');
    const stranger = await probe(fronts.mtls.address, { ...fronts.ca, ...fronts.pair(fronts.certs.untrustedClient) });
    // node's TLS servers close the connection; Go's (Temporal's) send alert 42 bad certificate.
    expect(stranger.result.kind).toBe('client-cert-refused');
    expect(stranger.message).toContain(`the server refused the client certificate in TEMPORAL_TLS_CLIENT_CERT_PATH=${fronts.certs.untrustedClient.cert}`);
    expect(stranger.message).toContain('set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH');
  });

  it('a server without TLS: names TEMPORAL_TLS', async () => {
    const { result, message } = await probe(plainAddress, { TEMPORAL_TLS: 'true' });
    expect(result).toEqual({ kind: 'no-tls' });
    expect(message).toContain('the server does not speak TLS');
    expect(message).toContain('check TEMPORAL_TLS');
  });

  it('nothing listening: not a TLS matter, the message names TEMPORAL_ADDRESS only', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const { result, message } = await probe(address, { TEMPORAL_TLS: 'true' });
    expect(result).toEqual({ kind: 'no-answer' });
    expect(message).toContain(`cannot reach Temporal at ${address} (TEMPORAL_ADDRESS)`);
    expect(message).not.toContain('TEMPORAL_TLS_SERVER');
  });

  it('a file that is not what its setting says is named before any connection, without its content', async () => {
    const junk = path.join(fronts.certs.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate: secret-looking-content\n');
    const badCa = await probe(fronts.tls.address, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: junk });
    expect(badCa.message).toContain(`over TLS: TEMPORAL_TLS_SERVER_CA_CERT_PATH=${junk} is not a PEM certificate.`);
    const badKey = await probe(fronts.mtls.address, { ...fronts.ca, TEMPORAL_TLS_CLIENT_CERT_PATH: fronts.certs.client.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: junk });
    expect(badKey.message).toContain(`TEMPORAL_TLS_CLIENT_KEY_PATH=${junk} is not a PEM private key`);
    const otherKey = await probe(fronts.mtls.address, { ...fronts.ca, TEMPORAL_TLS_CLIENT_CERT_PATH: fronts.certs.client.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: fronts.certs.untrustedClient.key });
    expect(otherKey.message).toContain(`TEMPORAL_TLS_CLIENT_KEY_PATH=${fronts.certs.untrustedClient.key} is not the key of TEMPORAL_TLS_CLIENT_CERT_PATH's certificate.`);
    for (const m of [badCa.message, badKey.message, otherKey.message]) {
      expect(m).not.toContain('secret-looking-content');
      expect(m).not.toContain(readFileSync(fronts.certs.untrustedClient.key, 'utf8').split('\n')[1]);
    }
  });
});
