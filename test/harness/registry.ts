import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { execa, type ResultPromise } from 'execa';
import { freePort } from './free-port.ts';

/** Installed by scripts/bootstrap.sh (Debian's docker-registry, the CNCF distribution registry). */
export const DOCKER_REGISTRY = process.env.CD4ML_DOCKER_REGISTRY ?? '/usr/bin/docker-registry';

/** A login the registry accepts when started with `auth`; recognisable so the secrets scan can look for it. */
export const REGISTRY_LOGIN = { username: 'cd4ml-test', password: 'cd4ml-registry-secret-Hq3vX9' };

/**
 * A real OCI registry on a free loopback port, storing blobs in a temp folder:
 * plain http, as Docker and buildah treat a loopback registry. With `auth`,
 * every request needs REGISTRY_LOGIN (htpasswd, HTTP Basic).
 */
export class Registry {
  private constructor(
    readonly host: string,
    private readonly dir: string,
    private readonly proc: ResultPromise,
    private readonly auth: boolean,
  ) {}

  static async start(opts: { auth?: boolean } = {}): Promise<Registry> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-registry-'));
    const port = await freePort();
    const lines = [
      'version: 0.1',
      'log: {level: warn, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}}, delete: {enabled: true}}`,
      `http: {addr: "127.0.0.1:${port}"}`,
    ];
    if (opts.auth) {
      const htpasswd = path.join(dir, 'htpasswd');
      await writeFile(htpasswd, `${REGISTRY_LOGIN.username}:${bcrypt.hashSync(REGISTRY_LOGIN.password, 5)}\n`);
      lines.push(`auth: {htpasswd: {realm: cd4ml-test, path: ${JSON.stringify(htpasswd)}}}`);
    }
    const config = path.join(dir, 'config.yml');
    await writeFile(config, lines.join('\n') + '\n');
    const proc = execa(DOCKER_REGISTRY, ['serve', config], { reject: false, stdout: 'ignore', stderr: 'pipe', buffer: false });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    const host = `127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`docker-registry exited (${proc.exitCode}): ${stderr}\nRun scripts/bootstrap.sh to install it.`);
      try {
        // 200 without auth, 401 with: either way it is serving.
        const res = await fetch(`http://${host}/v2/`);
        if (res.status === 200 || res.status === 401) break;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`docker-registry did not answer on ${host} within 20 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return new Registry(host, dir, proc, Boolean(opts.auth));
  }

  private headers(): Record<string, string> {
    if (!this.auth) return {};
    return { authorization: `Basic ${Buffer.from(`${REGISTRY_LOGIN.username}:${REGISTRY_LOGIN.password}`).toString('base64')}` };
  }

  /** Digest of `name:tag`, or null when the registry does not have it. Read straight from the API. */
  async digest(name: string, tag: string): Promise<string | null> {
    const res = await fetch(`http://${this.host}/v2/${name}/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        ...this.headers(),
        accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`HEAD ${name}:${tag}: HTTP ${res.status}`);
    return res.headers.get('docker-content-digest');
  }

  async tags(name: string): Promise<string[]> {
    const res = await fetch(`http://${this.host}/v2/${name}/tags/list`, { headers: this.headers() });
    if (res.status === 404) return [];
    const body = (await res.json()) as { tags: string[] | null };
    return [...(body.tags ?? [])].sort();
  }

  /** Paths in the image's layers, read from the blobs the registry stores: what the build really put in. */
  async imageFiles(name: string, tag: string): Promise<string[]> {
    const get = (rest: string, accept = '') =>
      fetch(`http://${this.host}/v2/${name}/${rest}`, { headers: { ...this.headers(), ...(accept ? { accept } : {}) } });
    const manifest = (await (await get(`manifests/${tag}`, 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json')).json()) as {
      layers: { digest: string }[];
    };
    const files: string[] = [];
    for (const layer of manifest.layers) {
      const blob = Buffer.from(await (await get(`blobs/${layer.digest}`)).arrayBuffer());
      const gzipped = blob[0] === 0x1f && blob[1] === 0x8b;
      const list = await execa('tar', [gzipped ? '-tz' : '-t'], { input: blob });
      files.push(...list.stdout.split('\n').filter((f) => f && !f.endsWith('/')));
    }
    return files.sort();
  }

  async stop(): Promise<void> {
    this.proc.kill('SIGTERM');
    await this.proc;
    await rm(this.dir, { recursive: true, force: true });
  }
}
