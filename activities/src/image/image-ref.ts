/** Where an image repository lives, as the OCI distribution API addresses it. */
export interface RegistryRepo {
  /** The registry as written in the repository (docker.io when none is), the key of a login. */
  host: string;
  /** The repository's name inside the registry, e.g. team/penguins. */
  name: string;
  /** http(s)://host of the API. */
  baseUrl: string;
}

const LOOPBACK = /^(?:localhost|127(?:\.\d+){3}|\[::1\])$/;

/**
 * Splits `registry/name` as Docker does: the first component is a registry
 * when it has a dot or a port or is localhost; otherwise it is Docker Hub.
 * A loopback registry is plain http, as Docker treats it; so is `insecure`.
 */
export function parseRepository(repository: string, insecure = false): RegistryRepo {
  const first = repository.split('/')[0]!;
  const hasHost = repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const host = hasHost ? first : 'docker.io';
  let name = hasHost ? repository.slice(first.length + 1) : repository;
  if (host === 'docker.io' && !name.includes('/')) name = `library/${name}`;
  const apiHost = host === 'docker.io' ? 'registry-1.docker.io' : host;
  const plain = insecure || LOOPBACK.test(host.replace(/:\d+$/, ''));
  return { host, name, baseUrl: `${plain ? 'http' : 'https'}://${apiHost}` };
}

/**
 * A branch name as a tag (the per-branch images of the seed articles): tags
 * allow [A-Za-z0-9_.-], at most 128, not starting with "." or "-", so
 * "feature/x" becomes "feature-x".
 */
export function branchTag(branch: string): string {
  const tag = branch.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '').slice(0, 128);
  return tag || 'branch';
}
