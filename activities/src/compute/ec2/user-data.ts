import { readFile } from 'node:fs/promises';

export interface UserDataValues {
  location: string;
  /** 'true' for launched instances: the worker polls cd4ml-location-<location>-<instance id>. */
  perInstanceQueue: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** git url of the cd4ml sources for the instance; '' when the AMI has them. */
  cd4mlSource: string;
}

const SCRIPT = new URL('./user-data.sh', import.meta.url);
// Values go inside single quotes in the script: refuse anything that could break out.
const SAFE = /^[A-Za-z0-9@%+=:,./_~-]*$/;

/** cd4ml's user-data script with its values filled in. Holds no secrets (see the script's header). */
export async function renderUserData(values: UserDataValues): Promise<string> {
  let script = await readFile(SCRIPT, 'utf8');
  for (const [key, value] of Object.entries(values)) {
    if (!SAFE.test(value)) throw new Error(`user data: ${key} has characters that are not allowed: ${JSON.stringify(value)}`);
    script = script.replaceAll(`{{${key}}}`, value);
  }
  return script;
}
