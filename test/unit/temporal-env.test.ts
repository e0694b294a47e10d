// How cd4ml reads its Temporal connection from the environment (contracts/src/temporal-env.ts),
// TLS and mTLS files included: what the processes pass to Connection.connect and NativeConnection.connect.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEMPORAL_ENV_VARS, temporalConnectionOptions, temporalSettings, temporalUnreachable } from '@cd4ml/contracts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cd4ml-temporal-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
// Stand-ins: the files are read as bytes and handed to the SDK, which parses them when it connects.
const CERT = 'client certificate (PEM)\n';
const KEY = 'client key: the-secret-key-material\n';
const CA = 'server CA (PEM)\n';

describe('temporalSettings', () => {
  it('defaults to the local dev server without TLS', () => {
    expect(temporalSettings({})).toEqual({ address: 'localhost:7233', namespace: 'default', apiKey: undefined, tls: false });
    expect(temporalConnectionOptions(temporalSettings({}))).toEqual({ address: 'localhost:7233' });
  });

  it('takes an empty variable as unset (Compose passes VAR= for an unset ${VAR:-})', () => {
    const empty = Object.fromEntries(TEMPORAL_ENV_VARS.map((k) => [k, '']));
    expect(temporalSettings(empty)).toEqual(temporalSettings({}));
  });

  it('an API key turns TLS on, TEMPORAL_TLS=false turns it off again', () => {
    expect(temporalConnectionOptions(temporalSettings({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' })))
      .toEqual({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'k', tls: true });
    expect(temporalSettings({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls).toBe(false);
    expect(temporalSettings({ TEMPORAL_TLS: 'true' }).tls).toBe(true);
  });

  it('rejects a TEMPORAL_TLS that is neither true nor false', () => {
    expect(() => temporalSettings({ TEMPORAL_TLS: 'yes' })).toThrow(/TEMPORAL_TLS/);
  });

  it('any TEMPORAL_TLS_* setting turns TLS on, and the settings hold paths, not contents', () => {
    const settings = temporalSettings({
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/certs/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/certs/client.key',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/certs/ca.pem',
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    expect(settings).toMatchObject({
      tls: true,
      tlsOptions: { clientCertPath: '/certs/client.pem', clientKeyPath: '/certs/client.key', serverCaCertPath: '/certs/ca.pem', serverName: 'temporal.internal' },
    });
    expect(temporalSettings({ TEMPORAL_TLS_SERVER_NAME: 'x' }).tls).toBe(true);
  });
});

describe('temporalConnectionOptions', () => {
  it('reads the mTLS client pair, the CA and the server name into the SDK\'s TLS config', () => {
    const options = temporalConnectionOptions(temporalSettings({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem', CERT),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key', KEY),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem', CA),
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
    }));
    expect(options).toEqual({
      address: 'temporal.internal:7233',
      tls: {
        serverNameOverride: 'frontend.temporal.internal',
        serverRootCACertificate: Buffer.from(CA),
        clientCertPair: { crt: Buffer.from(CERT), key: Buffer.from(KEY) },
      },
    });
  });

  it('a CA alone: server TLS with a private CA, no client certificate', () => {
    const options = temporalConnectionOptions(temporalSettings({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca-only.pem', CA) }));
    expect(options.tls).toEqual({ serverRootCACertificate: Buffer.from(CA) });
  });

  it('a missing file: the error names the variable and the path', () => {
    const missing = path.join(dir, 'nope.pem');
    const settings = temporalSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: missing, TEMPORAL_TLS_CLIENT_KEY_PATH: file('k1.key', KEY) });
    expect(() => temporalConnectionOptions(settings)).toThrow(`cannot read TEMPORAL_TLS_CLIENT_CERT_PATH=${missing}: no such file`);
    const ca = temporalSettings({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: dir });
    expect(() => temporalConnectionOptions(ca)).toThrow(`cannot read TEMPORAL_TLS_SERVER_CA_CERT_PATH=${dir}: is a folder`);
  });

  it('a certificate without its key, or a key without its certificate, names the missing one', () => {
    expect(() => temporalConnectionOptions(temporalSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: file('c3.pem', CERT) })))
      .toThrow('TEMPORAL_TLS_CLIENT_CERT_PATH is set without TEMPORAL_TLS_CLIENT_KEY_PATH');
    expect(() => temporalConnectionOptions(temporalSettings({ TEMPORAL_TLS_CLIENT_KEY_PATH: file('k3.key', KEY) })))
      .toThrow('TEMPORAL_TLS_CLIENT_KEY_PATH is set without TEMPORAL_TLS_CLIENT_CERT_PATH');
  });

  it('TEMPORAL_TLS=false with TLS files set is a contradiction, named', () => {
    const settings = temporalSettings({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/certs/ca.pem', TEMPORAL_TLS_SERVER_NAME: 'x' });
    expect(() => temporalConnectionOptions(settings))
      .toThrow('TEMPORAL_TLS=false, but TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME are set');
  });

  it('no error or hint carries the key or the API key', () => {
    const settings = temporalSettings({
      TEMPORAL_API_KEY: 'api-key-secret',
      TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'gone.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('k4.key', KEY),
    });
    let message = '';
    try {
      temporalConnectionOptions(settings);
    } catch (err) {
      message = (err as Error).message;
    }
    message += temporalUnreachable(settings, new Error('14 UNAVAILABLE: handshake failed'));
    expect(message).toContain('TEMPORAL_TLS_CLIENT_CERT_PATH');
    expect(message).toContain('check TEMPORAL_TLS');
    expect(message).not.toContain('the-secret-key-material');
    expect(message).not.toContain('api-key-secret');
  });
});
