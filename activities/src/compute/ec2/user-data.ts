import { readFile } from 'node:fs/promises';
import type { Ec2LocationConfig } from '@cd4ml/contracts';

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
  const all: Required<UserDataValues> = { temporalApiKeySsmParameter: '', temporalTls: '', ...values };
  for (const [key, value] of Object.entries(all)) {
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
