import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, type ImageConfig } from '@cd4ml/contracts';

/** A registry login, read from the environment variables cd4ml.yaml names. Never logged, never returned. */
export interface RegistryLogin {
  username: string;
  password: string;
  usernameEnv: string;
  passwordEnv: string;
}

export function registryLogin(image: Pick<ImageConfig, 'credentials'>, env: NodeJS.ProcessEnv = process.env): RegistryLogin | null {
  if (!image.credentials) return null;
  const { usernameEnv, passwordEnv } = image.credentials;
  const missing = [usernameEnv, passwordEnv].filter((name) => !env[name]);
  if (missing.length) {
    throw ApplicationFailure.nonRetryable(
      `image.credentials names ${missing.map((m) => `$${m}`).join(' and ')}, not set on the control worker: ` +
        'set it in the worker\'s environment (cd4ml.yaml holds only the names)',
      FailureType.RegistryDenied,
    );
  }
  return { username: env[usernameEnv]!, password: env[passwordEnv]!, usernameEnv, passwordEnv };
}

/**
 * A Docker-style config.json holding the login, readable by its owner only:
 * buildah takes it with --authfile, docker and kaniko through DOCKER_CONFIG.
 * Secrets in a file, not on a command line where `ps` would show them.
 */
export async function writeAuthFile(dir: string, host: string, login: RegistryLogin): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const auth = { auth: Buffer.from(`${login.username}:${login.password}`).toString('base64') };
  // Docker's own CLI files Docker Hub under its v1 index URL.
  const keys = host === 'docker.io' ? ['docker.io', 'https://index.docker.io/v1/'] : [host];
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ auths: Object.fromEntries(keys.map((k) => [k, auth])) }), { mode: 0o600 });
  return file;
}
