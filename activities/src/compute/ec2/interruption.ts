import type { SpotNotice } from '@cd4ml/contracts';

/** EC2's instance metadata service; tests point it elsewhere (see imdsEndpoint). */
export const IMDS_DEFAULT = 'http://169.254.169.254';
/** AWS documents checking for the notice every 5 s; 2 s leaves more of the two minutes for checkpointing. */
export const SPOT_POLL_MS = 2000;
const TOKEN_TTL_S = 21600;
const CALL_TIMEOUT_MS = 1000;

/**
 * The metadata endpoint, when this worker should watch for spot notices: the
 * setting (CD4ML_IMDS_ENDPOINT, or the AWS SDK's own AWS_EC2_METADATA_SERVICE_ENDPOINT),
 * or the default on a launched instance (its worker host is its instance id).
 * Undefined off EC2: nothing to watch.
 */
export function imdsEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const set = env.CD4ML_IMDS_ENDPOINT ?? env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  if (set) return set.replace(/\/+$/, '');
  return /^i-[0-9a-f]+$/.test(env.CD4ML_WORKER_HOST ?? '') ? IMDS_DEFAULT : undefined;
}

export interface SpotWatcherState {
  notice?: SpotNotice;
  /** The rebalance recommendation's noticeTime: logged and shown, not an interruption by itself. */
  rebalance?: string;
  /** Looks that got no answer in a row (an IMDS outage is not an interruption). */
  unanswered: number;
}

/**
 * Polls IMDSv2 (a token first, then spot/instance-action and the rebalance
 * recommendation) until stopped. Only an instance-action the service answers
 * with aborts `signal`: a service that does not answer is waited out.
 */
export class SpotWatcher {
  readonly state: SpotWatcherState = { unanswered: 0 };
  private readonly interrupted = new AbortController();
  private token: { value: string; until: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> = Promise.resolve();

  constructor(
    readonly endpoint: string,
    private readonly opts: { everyMs?: number; log?: (msg: string) => void } = {},
  ) {}

  /** Aborted, with the notice as its reason, once EC2 has said it will reclaim the instance. */
  get signal(): AbortSignal {
    return this.interrupted.signal;
  }

  get notice(): SpotNotice | undefined {
    return this.state.notice;
  }

  start(): this {
    const tick = () => {
      this.looking = this.look().finally(() => {
        if (this.timer !== undefined && !this.state.notice) this.timer = setTimeout(tick, this.opts.everyMs ?? SPOT_POLL_MS);
      });
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.looking;
  }

  /** One look at the metadata service. Public for tests and a first look before polling. */
  async look(): Promise<void> {
    try {
      const action = await this.get('spot/instance-action');
      const rebalance = await this.get('events/recommendations/rebalance');
      this.state.unanswered = 0;
      if (rebalance && !this.state.rebalance) {
        this.state.rebalance = parseJson(rebalance).noticeTime ?? rebalance;
        this.opts.log?.(`EC2 recommends rebalancing this instance (at ${this.state.rebalance}); no interruption yet`);
      }
      if (action && !this.state.notice) {
        const said = parseJson(action);
        this.state.notice = { action: said.action ?? 'terminate', time: said.time ?? '', noticedAt: Date.now() };
        this.opts.log?.(`EC2 will ${this.state.notice.action} this spot instance at ${this.state.notice.time}: stopping the training step`);
        this.interrupted.abort(this.state.notice);
      }
    } catch (err) {
      this.state.unanswered += 1;
      if (this.state.unanswered === 1) this.opts.log?.(`the instance metadata service did not answer (${String(err)}); still watching`);
    }
  }

  /** A metadata path's text, or undefined when it does not exist (404: no notice). */
  private async get(path: string): Promise<string | undefined> {
    for (let fresh = false; ; fresh = true) {
      const token = await this.tokenValue(fresh);
      const res = await fetch(`${this.endpoint}/latest/meta-data/${path}`, {
        headers: { 'x-aws-ec2-metadata-token': token }, signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const body = await res.text();
      if (res.status === 200) return body;
      if (res.status === 404) return undefined;
      // An expired or unknown token: get a new one, once.
      if (res.status === 401 && !fresh) continue;
      throw new Error(`GET ${path}: HTTP ${res.status}`);
    }
  }

  private async tokenValue(fresh: boolean): Promise<string> {
    if (!fresh && this.token && this.token.until > Date.now()) return this.token.value;
    const res = await fetch(`${this.endpoint}/latest/api/token`, {
      method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_S) }, signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const value = await res.text();
    if (res.status !== 200) throw new Error(`PUT api/token: HTTP ${res.status}`);
    // Renewed well before it expires.
    this.token = { value, until: Date.now() + (TOKEN_TTL_S - 60) * 1000 };
    return value;
  }
}

function parseJson(text: string): { action?: string; time?: string; noticeTime?: string } {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? v as Record<string, string> : {};
  } catch {
    return {};
  }
}
