import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Ec2LocationConfig, TemporalSettings } from '@cd4ml/contracts';

export interface UserDataValues {
  location: string;
  /** 'true' for launched instances: the worker polls cd4ml-location-<location>-<instance id>. */
  perInstanceQueue: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** 'true' to reach Temporal over TLS; '' (default) leaves it to the worker (an API key in secrets.env implies it). */
  temporalTls?: string;
  /** git url of the cd4ml sources for the instance; '' when the AMI has them. */
  cd4mlSource: string;
  /**
   * Name of an SSM parameter (SecureString) holding the Temporal API key, read on the
   * instance with its role into /etc/cd4ml/secrets.env; '' (default) for none. The key
   * itself never goes into user data: anyone allowed DescribeInstanceAttribute reads that.
   */
  temporalApiKeySsmParameter?: string;
  /** 'true' when Temporal needs an API key: the script checks that secrets.env (or SSM) gives one. */
  temporalApiKeyExpected?: string;
  /** TEMPORAL_TLS_SERVER_NAME, when the server's certificate is for another name than the address's host. */
  temporalTlsServerName?: string;
  /** The PEM CA certificate (public) the server's certificate is checked against, base64: written to /etc/cd4ml/tls/server-ca.pem. */
  temporalTlsServerCaBase64?: string;
  /** 'true' for mTLS: the worker uses /etc/cd4ml/tls/client.pem and client.key, the instance's own (never in user data). */
  temporalTlsClientCert?: string;
  /** SSM parameters (SecureString) the script reads client.pem and client.key from at boot; '' when the AMI provides the files. */
  temporalTlsClientCertSsmParameter?: string;
  temporalTlsClientKeySsmParameter?: string;
}

/** Where secrets for the instance come from: SSM parameter names, read on the instance with its role. */
export interface InstanceSecretSources {
  apiKeySsmParameter?: string;
  clientCertSsmParameter?: string;
  clientKeySsmParameter?: string;
}

/** The control worker's environment names them for the instances it launches (`cd4ml ec2 user-data` takes flags). */
export const INSTANCE_SECRET_ENV = {
  apiKeySsmParameter: 'CD4ML_INSTANCE_API_KEY_SSM_PARAMETER',
  clientCertSsmParameter: 'CD4ML_INSTANCE_TLS_CLIENT_CERT_SSM_PARAMETER',
  clientKeySsmParameter: 'CD4ML_INSTANCE_TLS_CLIENT_KEY_SSM_PARAMETER',
} as const satisfies Record<keyof InstanceSecretSources, string>;

export function instanceSecretSources(env: NodeJS.ProcessEnv): InstanceSecretSources {
  return Object.fromEntries(Object.entries(INSTANCE_SECRET_ENV).flatMap(([k, v]) => (env[v] ? [[k, env[v]]] : [])));
}

/**
 * The Temporal settings an instance's worker gets, from this process's own: what is public goes
 * into the script (address, namespace, TLS on/off, server name, the CA certificate itself); what
 * is secret (an API key, the client key) never does: the script reads it on the instance, from a
 * file the AMI provides or an SSM parameter. A client certificate is the instance's own too, beside its key.
 */
export function instanceTemporalValues(
  settings: TemporalSettings, sources: InstanceSecretSources,
): Omit<UserDataValues, 'location' | 'perInstanceQueue' | 'cd4mlSource'> {
  const o = settings.tls ? settings.tlsOptions ?? {} : {};
  let ca = '';
  if (o.serverCaCertPath) {
    const pem = readFileSync(o.serverCaCertPath, 'utf8');
    // A CA certificate is public; a file that also holds a key must not travel in user data.
    if (/PRIVATE KEY/.test(pem) || !/-----BEGIN CERTIFICATE-----/.test(pem)) {
      throw new Error(`TEMPORAL_TLS_SERVER_CA_CERT_PATH=${o.serverCaCertPath} is not a PEM certificate file only (it goes into the instances' user data): point it at the CA certificate alone`);
    }
    ca = Buffer.from(pem).toString('base64');
  }
  return {
    temporalAddress: settings.address,
    temporalNamespace: settings.namespace,
    temporalTls: settings.tls ? 'true' : '',
    temporalApiKeySsmParameter: sources.apiKeySsmParameter ?? '',
    temporalApiKeyExpected: settings.apiKey ? 'true' : '',
    temporalTlsServerName: o.serverName ?? '',
    temporalTlsServerCaBase64: ca,
    temporalTlsClientCert: o.clientCertPath ? 'true' : '',
    temporalTlsClientCertSsmParameter: o.clientCertPath ? sources.clientCertSsmParameter ?? '' : '',
    temporalTlsClientKeySsmParameter: o.clientCertPath ? sources.clientKeySsmParameter ?? '' : '',
  };
}

const SCRIPT = new URL('./user-data.sh', import.meta.url);
// Values go inside single quotes in the script: refuse anything that could break out.
const SAFE = /^[A-Za-z0-9@%+=:,./_~-]*$/;
export const USER_DATA_MAX_BYTES = 16 * 1024;

/**
 * cd4ml's user-data script with its values filled in. Holds no secrets (see the script's header).
 *
 * Nothing in it is per launch: a launched instance's queue (`cd4ml-location-<location>-<instance id>`)
 * is computed on the instance from the metadata service's instance id, so the same script
 * serves every launch of a template and can be pasted into one (`cd4ml ec2 user-data`).
 */
export async function renderUserData(values: UserDataValues): Promise<string> {
  let script = await readFile(SCRIPT, 'utf8');
  const all: Required<UserDataValues> = {
    temporalApiKeySsmParameter: '', temporalApiKeyExpected: '', temporalTls: '', temporalTlsServerName: '', temporalTlsServerCaBase64: '',
    temporalTlsClientCert: '', temporalTlsClientCertSsmParameter: '', temporalTlsClientKeySsmParameter: '', ...values,
  };
  for (const [key, given] of Object.entries(all)) {
    const value = given ?? '';
    if (!SAFE.test(value)) throw new Error(`user data: ${key} has characters that are not allowed: ${JSON.stringify(value)}`);
    script = script.replaceAll(`{{${key}}}`, value);
  }
  const left = /\{\{(\w+)\}\}/.exec(script);
  if (left) throw new Error(`user data: no value for {{${left[1]}}}`);
  // RunInstances takes at most 16 KB of user data (before base64).
  if (Buffer.byteLength(script) > USER_DATA_MAX_BYTES) throw new Error(`user data: ${Buffer.byteLength(script)} bytes, over EC2's ${USER_DATA_MAX_BYTES}`);
  return script;
}

/**
 * Whether a launch sends cd4ml's user data: always for a bare AMI; for a launch template
 * unless the location asks for the template's own (`userData: template`). RunInstances'
 * UserData replaces the template's, so the template's author needn't know about queues.
 */
export function sendsCd4mlUserData(config: Pick<Ec2LocationConfig, 'launchTemplate' | 'userData'>): boolean {
  return !(config.launchTemplate && config.userData === 'template');
}
