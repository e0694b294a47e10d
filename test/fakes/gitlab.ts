import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';

// The one fake in the test suite: GitLab's documented releases API
// (docs.gitlab.com/api/releases and api/releases/links), the endpoints gitbeaker's
// ProjectReleases and ReleaseLinks call, with GitLab's status codes and messages.
// No GitLab runs on these machines.

export interface FakeProject {
  id: number;
  /** namespace/name; requests may name the project by this path (URL-encoded) or by id. */
  path: string;
  /** Tags the project's repository has; a release of another tag needs `ref`. */
  tags?: string[];
}

export interface FakeLink {
  id: number;
  name: string;
  url: string;
  direct_asset_url: string;
  link_type: string;
}

export interface FakeRelease {
  tag_name: string;
  name: string;
  description: string;
  created_at: string;
  released_at: string;
  commit: { id: string | null };
  links: FakeLink[];
}

export interface RecordedRequest {
  method: string;
  /** Path and query as sent (project paths still URL-encoded). */
  url: string;
  status: number;
  body: unknown;
}

const LINK_TYPES = ['other', 'runbook', 'image', 'package'];
const ALLOWED_SCHEMES = /^(https?|ftp):\/\/[^/]/;

/** Compares secrets in constant time; hashing first hides the length too. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

class HttpError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(JSON.stringify(body));
  }
}

const notFound = (what = '404 Not Found') => new HttpError(404, { message: what });
const invalid = (message: unknown) => new HttpError(400, { message });

export class FakeGitLab {
  readonly requests: RecordedRequest[] = [];
  private readonly releases = new Map<number, Map<string, FakeRelease>>();
  private nextLinkId = 1;
  private failures: number[] = [];
  private delays: number[] = [];

  private readonly app = Fastify();
  private origin = '';

  private constructor(private readonly opts: { token: string; readOnlyToken?: string; projects: FakeProject[] }) {}

  static async start(opts: { token: string; readOnlyToken?: string; projects: FakeProject[] }): Promise<FakeGitLab> {
    const fake = new FakeGitLab(opts);
    fake.routes();
    await fake.app.listen({ port: 0, host: '127.0.0.1' });
    fake.origin = `http://127.0.0.1:${(fake.app.server.address() as { port: number }).port}`;
    return fake;
  }

  /** The instance's base url, as cd4ml.yaml's gitlab.url. */
  get url(): string {
    return this.origin;
  }

  /** Requests that change something (anything but GET). */
  get writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  /** The stored release, as GitLab would hold it. */
  release(project: string | number, tag: string): FakeRelease | undefined {
    const p = this.findProject(String(project));
    return p && this.releases.get(p.id)?.get(tag);
  }

  /** The next `count` requests fail with `status` before anything is read or written (an outage). */
  failNext(count: number, status = 503): void {
    this.failures.push(...Array<number>(count).fill(status));
  }

  /** The next request is answered only after `ms` (a slow or hung server). */
  delayNext(ms: number): void {
    this.delays.push(ms);
  }

  async stop(): Promise<void> {
    await this.app.close();
  }

  private findProject(id: string): FakeProject | undefined {
    return this.opts.projects.find((p) => String(p.id) === id || p.path === id);
  }

  private routes(): void {
    const app = this.app;
    // Recorded once answered, without headers: they hold the token.
    app.addHook('onResponse', async (req, reply) => {
      this.requests.push({ method: req.method, url: req.url, status: reply.statusCode, body: req.body ?? null });
    });
    app.setErrorHandler((err, _req, reply) => {
      if (err instanceof HttpError) return reply.code(err.status).send(err.body);
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      return reply.code(status).send({ error: (err as Error).message });
    });

    const base = '/api/v4/projects/:id/releases';
    app.get(base, (req, reply) => this.handle(req, reply, 'read', ({ project }) => this.page(req, reply, this.list(project))));
    app.post(base, (req, reply) => this.handle(req, reply, 'write', ({ project }) => {
      reply.code(201);
      return this.createRelease(project, req.body as Record<string, unknown>);
    }));
    app.get(`${base}/:tag`, (req, reply) => this.handle(req, reply, 'read', ({ project, release }) => this.view(project, release())));
    app.put(`${base}/:tag`, (req, reply) => this.handle(req, reply, 'write', ({ project, release }) => {
      const r = release();
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body.name === 'string') r.name = body.name;
      if (typeof body.description === 'string') r.description = body.description;
      if (typeof body.released_at === 'string') r.released_at = body.released_at;
      return this.view(project, r);
    }));

    const links = `${base}/:tag/assets/links`;
    app.get(links, (req, reply) => this.handle(req, reply, 'read', ({ release }) => this.page(req, reply, release().links)));
    app.post(links, (req, reply) => this.handle(req, reply, 'write', ({ project, release }) => {
      const r = release();
      const link = this.newLink(project, r, req.body as Record<string, unknown>);
      this.checkLinks([...r.links, link]);
      r.links.push(link);
      reply.code(201);
      return link;
    }));
    app.get(`${links}/:linkId`, (req, reply) => this.handle(req, reply, 'read', ({ link }) => link()));
    app.put(`${links}/:linkId`, (req, reply) => this.handle(req, reply, 'write', ({ project, release, link }) => {
      const r = release();
      const old = link();
      const body = (req.body ?? {}) as Record<string, unknown>;
      const updated = this.newLink(project, r, { name: old.name, url: old.url, link_type: old.link_type, ...body }, old.id);
      this.checkLinks(r.links.map((l) => (l.id === old.id ? updated : l)));
      Object.assign(old, updated);
      return old;
    }));
    app.delete(`${links}/:linkId`, (req, reply) => this.handle(req, reply, 'write', ({ release, link }) => {
      const r = release();
      const old = link();
      r.links = r.links.filter((l) => l.id !== old.id);
      return old;
    }));
  }

  /** Outage injection, then authentication, then the project: GitLab's order of refusals. */
  private async handle(
    req: FastifyRequest,
    reply: FastifyReply,
    access: 'read' | 'write',
    fn: (ctx: { project: FakeProject; release: () => FakeRelease; link: () => FakeLink }) => unknown,
  ): Promise<unknown> {
    const delay = this.delays.shift();
    if (delay) await sleep(delay);
    const failure = this.failures.shift();
    if (failure) throw new HttpError(failure, { message: `${failure} fake outage` });

    const given = req.headers['private-token'];
    const token = typeof given === 'string' ? given : '';
    const readOnly = this.opts.readOnlyToken !== undefined && sameSecret(token, this.opts.readOnlyToken);
    if (!sameSecret(token, this.opts.token) && !readOnly) throw new HttpError(401, { message: '401 Unauthorized' });

    const params = req.params as { id: string; tag?: string; linkId?: string };
    const project = this.findProject(params.id);
    if (!project) throw notFound('404 Project Not Found');
    if (access === 'write' && readOnly) throw new HttpError(403, { message: '403 Forbidden' });

    const release = () => this.releases.get(project.id)?.get(params.tag ?? '') ?? (() => { throw notFound(); })();
    const link = () => release().links.find((l) => String(l.id) === params.linkId) ?? (() => { throw notFound('404 Not found'); })();
    return fn({ project, release, link });
  }

  private list(project: FakeProject): unknown[] {
    const all = [...(this.releases.get(project.id)?.values() ?? [])];
    return all.sort((a, b) => b.released_at.localeCompare(a.released_at)).map((r) => this.view(project, r));
  }

  /** GitLab's offset pagination: page/per_page in, X-* and Link headers out. */
  private page(req: FastifyRequest, reply: FastifyReply, items: unknown[]): unknown[] {
    const q = req.query as { page?: string; per_page?: string };
    const perPage = Math.min(Math.max(Number(q.per_page) || 20, 1), 100);
    const page = Math.max(Number(q.page) || 1, 1);
    const pages = Math.max(Math.ceil(items.length / perPage), 1);
    const path = req.url.split('?')[0];
    const at = (p: number) => `<${this.url}${path}?page=${p}&per_page=${perPage}>`;
    const links = [`${at(1)}; rel="first"`, `${at(pages)}; rel="last"`];
    if (page < pages) links.unshift(`${at(page + 1)}; rel="next"`);
    if (page > 1) links.unshift(`${at(page - 1)}; rel="prev"`);
    reply.headers({
      'x-total': String(items.length), 'x-total-pages': String(pages), 'x-per-page': String(perPage), 'x-page': String(page),
      'x-next-page': page < pages ? String(page + 1) : '', 'x-prev-page': page > 1 ? String(page - 1) : '', link: links.join(', '),
    });
    return items.slice((page - 1) * perPage, page * perPage);
  }

  private createRelease(project: FakeProject, body: Record<string, unknown>): unknown {
    const tag = body.tag_name;
    if (typeof tag !== 'string' || !tag) throw invalid('tag_name is missing');
    const releases = this.releases.get(project.id) ?? new Map<string, FakeRelease>();
    if (releases.has(tag)) throw new HttpError(409, { message: 'Release already exists' });
    const ref = typeof body.ref === 'string' ? body.ref : undefined;
    if (!project.tags?.includes(tag) && !ref) throw new HttpError(422, { message: 'Ref is not specified' });
    const now = new Date().toISOString();
    const release: FakeRelease = {
      tag_name: tag,
      name: typeof body.name === 'string' ? body.name : tag,
      description: typeof body.description === 'string' ? body.description : '',
      created_at: now,
      released_at: typeof body.released_at === 'string' ? body.released_at : now,
      commit: { id: ref ?? null },
      links: [],
    };
    const assets = (body.assets ?? {}) as { links?: Record<string, unknown>[] };
    release.links = (assets.links ?? []).map((l) => this.newLink(project, release, l));
    this.checkLinks(release.links, 'Links ');
    project.tags = [...(project.tags ?? []), tag];
    releases.set(tag, release);
    this.releases.set(project.id, releases);
    return this.view(project, release);
  }

  private newLink(project: FakeProject, release: FakeRelease, body: Record<string, unknown>, id?: number): FakeLink {
    const { name, url } = body;
    const linkType = body.link_type ?? 'other';
    if (typeof name !== 'string' || !name) throw invalid('name is missing');
    if (typeof url !== 'string' || !url) throw invalid('url is missing');
    if (typeof linkType !== 'string' || !LINK_TYPES.includes(linkType)) throw invalid('link_type does not have a valid value');
    const direct = body.direct_asset_path ?? body.filepath;
    return {
      id: id ?? this.nextLinkId++,
      name,
      url,
      direct_asset_url: typeof direct === 'string' ? `${this.webUrl(project, release)}/downloads${direct}` : url,
      link_type: linkType,
    };
  }

  /** GitLab's model validations for a release's links. */
  private checkLinks(links: FakeLink[], prefix = ''): void {
    for (const l of links) {
      if (!ALLOWED_SCHEMES.test(l.url)) throw invalid(`Validation failed: ${prefix}url is blocked: Only allowed schemes are http, https, ftp`);
    }
    for (const key of ['name', 'url'] as const) {
      if (new Set(links.map((l) => l[key])).size !== links.length) {
        throw invalid(prefix ? `Validation failed: Links have duplicate values (${key})` : { [key]: ['has already been taken'] });
      }
    }
  }

  private webUrl(project: FakeProject, release: FakeRelease): string {
    return `${this.url}/${project.path}/-/releases/${encodeURIComponent(release.tag_name)}`;
  }

  /** A release as the API answers it. */
  private view(project: FakeProject, r: FakeRelease): Record<string, unknown> {
    const web = this.webUrl(project, r);
    return {
      tag_name: r.tag_name,
      name: r.name,
      description: r.description,
      created_at: r.created_at,
      released_at: r.released_at,
      upcoming_release: false,
      commit: r.commit,
      commit_path: `/${project.path}/-/commit/${r.commit.id ?? ''}`,
      tag_path: `/${project.path}/-/tags/${encodeURIComponent(r.tag_name)}`,
      assets: {
        count: r.links.length + 2,
        sources: ['zip', 'tar.gz'].map((format) => ({ format, url: `${this.url}/${project.path}/-/archive/${r.tag_name}.${format}` })),
        links: r.links.map((l) => ({ ...l })),
      },
      evidences: [],
      _links: { self: web, edit_url: `${web}/edit` },
    };
  }
}
