import { readFileSync } from 'node:fs';
import { z } from 'zod';

// How every cd4ml process finds Temporal: environment only, so an API key
// never lands in a file or in workflow history. The names are those of Temporal's
// own client environment configuration (the CLI and the SDKs read the same ones):
// https://docs.temporal.io/references/client-environment-configuration
// An empty value counts as unset (Compose passes `VAR=` for an unset `${VAR:-}`).

/** The variables cd4ml reads, in the order docker-compose.yml documents them. */
export const TEMPORAL_ENV_VARS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;

const TemporalEnv = z.object({
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  /** PEM client certificate (mTLS); needs TEMPORAL_TLS_CLIENT_KEY_PATH. */
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().optional(),
  /** PEM private key of the client certificate. */
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().optional(),
  /** PEM CA the server's certificate is checked against, instead of the system's roots. */
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().optional(),
  /** The name the server's certificate is checked against, when it is not the host of TEMPORAL_ADDRESS. */
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
} satisfies Record<(typeof TEMPORAL_ENV_VARS)[number], z.ZodType>);

/** TLS beyond on/off: file paths and a name only, so settings can be passed around and logged without a secret. */
export interface TemporalTlsOptions {
  clientCertPath?: string;
  clientKeyPath?: string;
  serverCaCertPath?: string;
  serverName?: string;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls: boolean;
  tlsOptions?: TemporalTlsOptions;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const set = Object.fromEntries(TEMPORAL_ENV_VARS.flatMap((k) => (env[k] ? [[k, env[k]]] : [])));
  const e = TemporalEnv.parse(set);
  const tlsOptions: TemporalTlsOptions = {
    ...(e.TEMPORAL_TLS_CLIENT_CERT_PATH ? { clientCertPath: e.TEMPORAL_TLS_CLIENT_CERT_PATH } : {}),
    ...(e.TEMPORAL_TLS_CLIENT_KEY_PATH ? { clientKeyPath: e.TEMPORAL_TLS_CLIENT_KEY_PATH } : {}),
    ...(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH ? { serverCaCertPath: e.TEMPORAL_TLS_SERVER_CA_CERT_PATH } : {}),
    ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverName: e.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
  const anyTlsOption = Object.keys(tlsOptions).length > 0;
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    apiKey: e.TEMPORAL_API_KEY,
    // An API key (Temporal Cloud) or any TLS setting implies TLS; TEMPORAL_TLS overrides.
    tls: e.TEMPORAL_TLS ? e.TEMPORAL_TLS === 'true' : Boolean(e.TEMPORAL_API_KEY) || anyTlsOption,
    ...(anyTlsOption ? { tlsOptions } : {}),
  };
}

/** The SDK's TLSConfig (@temporalio/client and @temporalio/worker take the same shape). */
export interface TemporalTlsConfig {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

/** What Connection.connect and NativeConnection.connect take from the settings. */
export interface TemporalConnectionOptions {
  address: string;
  apiKey?: string;
  tls?: TemporalTlsConfig | true;
}

const TLS_VARS = {
  clientCertPath: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  clientKeyPath: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  serverCaCertPath: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  serverName: 'TEMPORAL_TLS_SERVER_NAME',
} as const satisfies Record<keyof TemporalTlsOptions, (typeof TEMPORAL_ENV_VARS)[number]>;

/** A file a TLS setting names, or an error that names the setting and the path (never the content). */
function readTlsFile(option: 'clientCertPath' | 'clientKeyPath' | 'serverCaCertPath', file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a folder' : (code ?? 'unreadable');
    throw new Error(`cannot read ${TLS_VARS[option]}=${file}: ${why}`);
  }
}

/**
 * The connection options of the settings, with the TLS files read: the one place a
 * Temporal connection's options are made (workers and CLI alike). Throws an error naming
 * the variable when a file cannot be read or the settings contradict each other.
 */
export function temporalConnectionOptions(settings: TemporalSettings): TemporalConnectionOptions {
  const base = { address: settings.address, ...(settings.apiKey ? { apiKey: settings.apiKey } : {}) };
  const o = settings.tlsOptions ?? {};
  const named = (Object.keys(o) as (keyof TemporalTlsOptions)[]).filter((k) => o[k]);
  if (!settings.tls) {
    if (named.length > 0) {
      throw new Error(`TEMPORAL_TLS=false, but ${named.map((k) => TLS_VARS[k]).join(', ')} ${named.length > 1 ? 'are' : 'is'} set: unset TEMPORAL_TLS (or set it to true), or unset them`);
    }
    return base;
  }
  if (Boolean(o.clientCertPath) !== Boolean(o.clientKeyPath)) {
    const [have, missing] = o.clientCertPath ? ['clientCertPath', 'clientKeyPath'] as const : ['clientKeyPath', 'clientCertPath'] as const;
    throw new Error(`${TLS_VARS[have]} is set without ${TLS_VARS[missing]}: a client certificate (mTLS) needs both`);
  }
  if (named.length === 0) return { ...base, tls: true };
  return {
    ...base,
    tls: {
      ...(o.serverName ? { serverNameOverride: o.serverName } : {}),
      ...(o.serverCaCertPath ? { serverRootCACertificate: readTlsFile('serverCaCertPath', o.serverCaCertPath) } : {}),
      ...(o.clientCertPath && o.clientKeyPath
        ? { clientCertPair: { crt: readTlsFile('clientCertPath', o.clientCertPath), key: readTlsFile('clientKeyPath', o.clientKeyPath) } }
        : {}),
    },
  };
}

/**
 * What a TLS handshake of cd4ml's own with the server found (temporal-tls-probe.ts), for when
 * the SDK says only "failed to connect": whether TLS is the problem and, if so, which setting.
 */
export type TlsProbe =
  /** The handshake worked: TLS is not why the SDK could not connect. */
  | { kind: 'handshake-ok' }
  /** No TCP connection, or no answer in time: not a TLS matter either. */
  | { kind: 'no-answer' }
  | { kind: 'no-tls' }
  /** The server's certificate is not signed by a trusted CA; `reason`: node's (e.g. "unable to verify the first certificate"). */
  | { kind: 'server-untrusted'; reason: string }
  /** The server's certificate is for other names (`names`, as its subjectAltName lists them). */
  | { kind: 'server-name'; checked: string; names: string }
  | { kind: 'client-cert-required' }
  /** The server refused the client certificate; `reason`: its TLS alert, or that it closed the connection. */
  | { kind: 'client-cert-refused'; reason: string }
  /** A file is not what its setting says (`reason` names no content). */
  | { kind: 'bad-file'; option: 'serverCaCertPath' | 'clientCertPath' | 'clientKeyPath'; reason: string }
  | { kind: 'other'; reason: string };

/** The one line that names the TLS setting to fix, for a probe that found the fault. */
function tlsFault(settings: TemporalSettings, probe: TlsProbe): string | undefined {
  const o = settings.tlsOptions ?? {};
  const at = (option: keyof TemporalTlsOptions) => `${TLS_VARS[option]}=${o[option]}`;
  const clientPair = 'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH';
  switch (probe.kind) {
    case 'no-tls':
      return 'the server does not speak TLS, but TLS is on (TEMPORAL_TLS, or implied by TEMPORAL_API_KEY or a TEMPORAL_TLS_* setting): ' +
        'check TEMPORAL_TLS (false for a server without TLS), or point TEMPORAL_ADDRESS at the server\'s TLS port.';
    case 'server-untrusted':
      return o.serverCaCertPath
        ? `the server's certificate is not signed by the CA in ${at('serverCaCertPath')} (${probe.reason}): set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it.`
        : `the server's certificate is not signed by a CA node trusts by default (${probe.reason}): set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the PEM file of the CA that signed it.`;
    case 'server-name':
      return `the server's certificate is for ${probe.names || 'no name'}, not for ${probe.checked} ` +
        `(${o.serverName ? 'TEMPORAL_TLS_SERVER_NAME' : 'the host of TEMPORAL_ADDRESS'}): set TEMPORAL_TLS_SERVER_NAME to a name the certificate is for.`;
    case 'client-cert-required':
      return `the server asks for a client certificate (mTLS) and none is set: set ${clientPair} to a certificate the server trusts and its key.`;
    case 'client-cert-refused':
      return `the server refused the client certificate in ${at('clientCertPath')} (${probe.reason}): set ${clientPair} to a certificate signed by a CA the server trusts, and its key.`;
    case 'bad-file':
      return `${at(probe.option)} ${probe.reason}.`;
    default:
      return undefined;
  }
}

/**
 * Why a process could not connect to Temporal, naming the setting to fix. `probe`: what
 * cd4ml's own TLS handshake found (probeTemporalTls); without one, a TLS failure gets a hint
 * listing what it may be.
 */
export function temporalUnreachable(settings: TemporalSettings, cause: unknown, probe?: TlsProbe): string {
  const fault = probe && tlsFault(settings, probe);
  if (fault) return `cannot connect to Temporal at ${settings.address} (TEMPORAL_ADDRESS) over TLS: ${fault}`;
  const detail = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
  const other = probe?.kind === 'other' ? ` (TLS: ${probe.reason})` : '';
  // gRPC says only "failed to connect" when TLS meets a plaintext server or a certificate that does not match.
  const tlsHint = (settings.tls || /tls|certificate|handshake|ssl/i.test(detail ?? '')) && (!probe || probe.kind === 'other')
    ? ` With TLS on (TEMPORAL_TLS, or implied by TEMPORAL_API_KEY or a TEMPORAL_TLS_* setting), this is also what a server without TLS, or with a certificate that does not match ${settings.address}, gives: check TEMPORAL_TLS (and TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME for a private CA).`
    : '';
  return `cannot reach Temporal at ${settings.address} (TEMPORAL_ADDRESS): ${detail}${other}.${tlsHint}\n` +
    'Start one with "make demo" (dev server on :7233, Web UI on :8233) or "temporal server start-dev", ' +
    'or point TEMPORAL_ADDRESS at your cluster (TEMPORAL_TLS, TEMPORAL_API_KEY for Temporal Cloud, TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH for mTLS).';
}

/** The namespace does not exist on the server that answered. */
export const namespaceMissing = (settings: TemporalSettings): string =>
  `namespace "${settings.namespace}" (TEMPORAL_NAMESPACE) does not exist on ${settings.address}: ` +
  `create it with "temporal operator namespace create --namespace ${settings.namespace}", or set TEMPORAL_NAMESPACE to an existing one.`;
