import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '@cd4ml/contracts';
import type { RegistryLogin } from './credentials.ts';
import type { RegistryRepo } from './image-ref.ts';

// Single-arch and multi-arch manifests, OCI and Docker: whatever a builder pushed.
const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const REQUEST_TIMEOUT_MS = 30_000;

export interface Manifest {
  body: Buffer;
  mediaType: string;
  digest: string;
}

/**
 * The little of the OCI distribution API that cd4ml needs: is a tag there
 * (HEAD manifest), and point a second tag at the same manifest. Logs in with
 * Basic or with a Bearer token from the registry's token service.
 */
export class Registry {
  private authorization: string | undefined;

  constructor(
    readonly repo: RegistryRepo,
    private readonly login: RegistryLogin | null,
    private readonly signal?: AbortSignal,
  ) {}

  /** Digest of the manifest a tag names, or null when the tag is not there. */
  async digest(tag: string): Promise<string | null> {
    const res = await this.request('HEAD', `manifests/${tag}`);
    if (res.status === 404) return null;
    this.expectOk(res, `HEAD manifest ${tag}`);
    // A registry may leave the header off a HEAD: then the digest is that of the stored bytes.
    return res.headers.get('docker-content-digest') ?? (await this.manifest(tag)).digest;
  }

  async manifest(reference: string): Promise<Manifest> {
    const res = await this.request('GET', `manifests/${reference}`);
    this.expectOk(res, `GET manifest ${reference}`);
    const body = Buffer.from(await res.arrayBuffer());
    return {
      body,
      mediaType: res.headers.get('content-type') ?? 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${createHash('sha256').update(body).digest('hex')}`,
    };
  }

  /** Points `to` at the manifest `from` names: the same bytes under another tag, so the same digest. */
  async copyTag(from: string, to: string): Promise<void> {
    const m = await this.manifest(from);
    const res = await this.request('PUT', `manifests/${to}`, m.body, m.mediaType);
    this.expectOk(res, `PUT manifest ${to}`);
  }

  private async request(method: string, rest: string, body?: Buffer, contentType?: string): Promise<Response> {
    const url = `${this.repo.baseUrl}/v2/${this.repo.name}/${rest}`;
    const send = async () => {
      const headers: Record<string, string> = { accept: MANIFEST_TYPES };
      if (contentType) headers['content-type'] = contentType;
      if (this.authorization) headers.authorization = this.authorization;
      return this.fetch(url, { method, headers, ...(body ? { body: new Blob([new Uint8Array(body)]) } : {}) });
    };
    let res = await send();
    if (res.status === 401) {
      this.authorization = await this.authorize(res.headers.get('www-authenticate'));
      res = await send();
    }
    return res;
  }

  private async fetch(url: string | URL, init: RequestInit): Promise<Response> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      return await fetch(url, { ...init, signal: this.signal ? AbortSignal.any([this.signal, timeout]) : timeout });
    } catch (err) {
      if (this.signal?.aborted) throw this.signal.reason;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw ApplicationFailure.retryable(
        `registry ${this.repo.host} did not answer (${cause?.code ?? cause?.message ?? (err as Error).message}) at ${this.repo.baseUrl}: ` +
          'check that it runs and that image.repository (and image.insecure for plain http) are right',
        'RegistryUnavailable',
      );
    }
  }

  private async authorize(challenge: string | null): Promise<string> {
    const basic = this.login ? `Basic ${Buffer.from(`${this.login.username}:${this.login.password}`).toString('base64')}` : undefined;
    const [scheme = '', ...rest] = (challenge ?? '').split(' ');
    if (scheme.toLowerCase() === 'basic') {
      if (!basic) throw this.denied(401, 'it asks for a login');
      return basic;
    }
    if (scheme.toLowerCase() === 'bearer') {
      const params = Object.fromEntries([...rest.join(' ').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      if (!params.realm) throw this.denied(401, `its token challenge names no realm: ${challenge}`);
      const url = new URL(params.realm);
      if (params.service) url.searchParams.set('service', params.service);
      // Ask for push as well when there is a login: the same token then serves the branch tag.
      url.searchParams.set('scope', `repository:${this.repo.name}:pull${this.login ? ',push' : ''}`);
      const res = await this.fetch(url, { headers: basic ? { authorization: basic } : {} });
      if (!res.ok) throw this.denied(res.status, `its token service ${url.origin} refused`);
      const token = (await res.json()) as { token?: string; access_token?: string };
      const value = token.token ?? token.access_token;
      if (!value) throw this.denied(res.status, 'its token service returned no token');
      return `Bearer ${value}`;
    }
    throw this.denied(401, `unknown challenge "${scheme}"`);
  }

  private expectOk(res: Response, what: string): void {
    if (res.ok) return;
    if (res.status === 401 || res.status === 403) throw this.denied(res.status, `${what} was refused`);
    throw ApplicationFailure.retryable(`registry ${this.repo.host}: ${what} failed with HTTP ${res.status}`, 'RegistryUnavailable');
  }

  private denied(status: number, why: string): ApplicationFailure {
    const next = this.login
      ? `check the login in $${this.login.usernameEnv} / $${this.login.passwordEnv} on the control worker and its rights on ${this.repo.name}`
      : 'set image.credentials (usernameEnv, passwordEnv) in cd4ml.yaml and those variables on the control worker';
    return ApplicationFailure.nonRetryable(
      `registry ${this.repo.host} denied access to ${this.repo.name} (HTTP ${status}: ${why}): ${next}`,
      FailureType.RegistryDenied,
    );
  }
}
