import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApplicationFailure } from '@temporalio/common';
import { ServiceError, type Client } from '@temporalio/client';
import {
  CommitCommandError, parseCommitCommand, trainWorkflowId, type ImageRequestInput, type PushEvent, type SweepRequestInput, type TrainingRequestInput,
} from '@cd4ml/contracts';
import { InvalidTrainingRequest, TrainingAlreadyRan, startTraining } from '../start-training.ts';
import { startSweep } from '../start-sweep.ts';
import { startImageBuild } from '../start-image.ts';
import { BadPayload, fromGitHub, fromGitLab, type Ignored } from './push-event.ts';
import { sameSecret, validSignature } from './verify.ts';

// The CI webhook gateway: GitLab and GitHub push webhooks in, trainings and
// image builds out, started on Temporal by the head commit's message
// (`trigger training v1.4`, `build image`). It answers as soon as the workflow
// has started; the run itself is followed in the Web UI or with `cd4ml status`.

/** What the gateway starts; Temporal-backed in production, replaceable in unit tests. */
export interface Starters {
  train(request: TrainingRequestInput): Promise<{ workflowId: string; attached: boolean }>;
  buildImage(request: ImageRequestInput): Promise<{ workflowId: string; attached: boolean }>;
  /** `trigger sweep ...`; a gateway without it refuses sweep commands. */
  sweep?(request: SweepRequestInput): Promise<{ workflowId: string; attached: boolean }>;
}

/**
 * Each start's calls to Temporal get `deadlineMs` in all (gRPC deadline): a
 * Temporal that does not answer gets a 503 before GitLab gives up on the
 * delivery (10 s), not after the SDK's own retries (about 20 s).
 */
export function temporalStarters(client: Client, deadlineMs = 6_000): Starters {
  const bounded = <R>(fn: () => Promise<R>) => client.withDeadline(Date.now() + deadlineMs, fn);
  return {
    async train(request) {
      const { attached } = await bounded(() => startTraining(client, request));
      return { workflowId: trainWorkflowId(request.project, request.releaseTag), attached };
    },
    async buildImage(request) {
      const { attached, workflowId } = await startImageBuild(client, request, bounded);
      return { workflowId, attached };
    },
    async sweep(request) {
      const { attached, handle } = await bounded(() => startSweep(client, request));
      return { workflowId: handle.workflowId, attached };
    },
  };
}

export interface GatewayOptions {
  /** The shared secret: GitLab's secret token, GitHub's webhook secret. */
  secret: string;
  /** Projects it triggers, each with the clone url the workers use (default: the url the forge reports). */
  projects: Record<string, { repoUrl?: string }>;
  /** Location when the commit message names none. */
  location: string;
  starters: Starters;
  logger?: FastifyBaseLogger | false;
  bodyLimitBytes?: number;
}

/** The answer to one delivery: the HTTP status and its JSON body. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const refuse = (status: number, error: string): Answer => ({ status, body: { error } });

export function buildGateway(opts: GatewayOptions): FastifyInstance {
  if (!opts.secret) throw new Error('the webhook gateway needs a secret: set CD4ML_WEBHOOK_SECRET');
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // GitLab sends up to 20 commits with their file lists; a few MiB is plenty.
    bodyLimit: opts.bodyLimitBytes ?? 5 * 1024 * 1024,
  }) as unknown as FastifyInstance;
  const log = app.log;

  // The raw bytes: GitHub's signature is over them, not over re-serialised JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req: unknown, body: Buffer | string, done: (err: null, body: Buffer | string) => void) => done(null, body));

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    const status = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : (err.statusCode ?? 500);
    if (status >= 500) log.error({ err }, 'webhook failed');
    void reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}: POST /webhooks/gitlab/<project> or /webhooks/github/<project>` });
  });

  app.get('/healthz', async () => ({ ok: true }));

  const send = (reply: FastifyReply, a: Answer) => reply.code(a.status).send(a.body);
  type Params = { project: string };

  app.post('/webhooks/gitlab/:project', async (req: FastifyRequest<{ Params: Params }>, reply) => {
    // Authenticate before reading anything else of the request.
    if (!sameSecret(header(req, 'x-gitlab-token'), opts.secret)) {
      return send(reply, refuse(401, 'X-Gitlab-Token does not match the gateway\'s secret: set the webhook\'s secret token to CD4ML_WEBHOOK_SECRET'));
    }
    return send(reply, await deliver(req, (payload) => fromGitLab(header(req, 'x-gitlab-event'), payload)));
  });

  app.post('/webhooks/github/:project', async (req: FastifyRequest<{ Params: Params }>, reply) => {
    if (!validSignature(bodyOf(req), header(req, 'x-hub-signature-256'), opts.secret)) {
      return send(reply, refuse(401, 'X-Hub-Signature-256 is missing or wrong: set the webhook\'s secret to CD4ML_WEBHOOK_SECRET'));
    }
    if (header(req, 'x-github-event') === 'ping') return send(reply, { status: 200, body: { pong: true } });
    return send(reply, await deliver(req, (payload) => fromGitHub(header(req, 'x-github-event'), payload)));
  });

  /** One authenticated delivery: parse, read the command, start what it asks for. */
  async function deliver(req: FastifyRequest<{ Params: Params }>, read: (payload: unknown) => PushEvent | Ignored): Promise<Answer> {
    const project = req.params.project;
    const configured = opts.projects[project];
    if (!configured) return refuse(404, `unknown project "${project}": this gateway triggers ${Object.keys(opts.projects).join(', ')}`);
    let event: PushEvent | Ignored;
    try {
      const text = bodyOf(req).toString('utf8');
      if (text.startsWith('payload=')) return refuse(415, 'form-encoded payload: set the webhook\'s content type to application/json');
      event = read(JSON.parse(text) as unknown);
    } catch (err) {
      if (err instanceof SyntaxError) return refuse(400, `malformed JSON: ${err.message}`);
      if (err instanceof BadPayload) return refuse(400, err.message);
      throw err;
    }
    if ('ignored' in event) {
      log.info({ project, ignored: event.ignored }, 'webhook ignored');
      return { status: 200, body: { ignored: event.ignored } };
    }
    const answer = await start(project, configured.repoUrl ?? event.repoUrl, event);
    log.info({ project, provider: event.provider, branch: event.branch, commit: event.commit, status: answer.status, ...answer.body }, 'webhook handled');
    return answer;
  }

  async function start(project: string, repoUrl: string, event: PushEvent): Promise<Answer> {
    const firstLine = event.message.split('\n', 1)[0]!.trim();
    try {
      const command = parseCommitCommand(event.message);
      if (!command) return { status: 200, body: { ignored: `no command in the head commit's message ("${firstLine.slice(0, 80)}")` } };
      if (!repoUrl) return refuse(422, `the ${event.provider} payload names no clone url: start the gateway with --project ${project}=<url>`);
      const common = { project, repoUrl, branch: event.branch, commit: event.commit, requestedBy: event.pusher };
      const reason = `${event.provider} push ${event.commit.slice(0, 8)}: ${firstLine}`;
      if (command.kind === 'sweep' && !opts.starters.sweep) return refuse(422, 'this gateway does not start sweeps');
      const started = command.kind === 'train'
        ? await opts.starters.train({ ...common, releaseTag: command.releaseTag, location: command.location ?? opts.location, reason })
        : command.kind === 'sweep'
          ? await opts.starters.sweep!({ ...common, releaseTag: command.releaseTag, grid: command.grid, location: command.location ?? opts.location, reason })
          : await opts.starters.buildImage(common);
      return { status: 202, body: { [started.attached ? 'attached' : 'started']: started.workflowId, command: command.kind } };
    } catch (err) {
      if (err instanceof CommitCommandError || err instanceof InvalidTrainingRequest) return refuse(422, err.message);
      if (err instanceof TrainingAlreadyRan) {
        return refuse(409, `${err.workflowId} already ran (${err.status}): a release tag is trained once; push a commit with a new tag`);
      }
      // resolveImage's checks (no image section, unknown commit...) say what is wrong with the project.
      if (err instanceof ApplicationFailure && err.nonRetryable) return refuse(422, err.message);
      if (err instanceof ApplicationFailure) return refuse(503, `${err.message}: try again (redeliver the webhook)`);
      // Temporal down or refusing (gRPC UNAVAILABLE, deadline...): the forge can redeliver later.
      if (err instanceof ServiceError) {
        log.warn({ err }, 'Temporal did not take the request');
        const cause = err.cause instanceof Error ? `: ${err.cause.message.split('\n')[0]}` : '';
        return refuse(503, `Temporal did not take the request (${err.message}${cause}): redeliver the webhook once it is up`);
      }
      throw err;
    }
  }

  return app;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function bodyOf(req: FastifyRequest): Buffer {
  const b = req.body as Buffer | string | undefined;
  return b === undefined ? Buffer.alloc(0) : Buffer.isBuffer(b) ? b : Buffer.from(b);
}
