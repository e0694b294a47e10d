import { EC2Client, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { MOTO_CREDENTIALS } from './moto.ts';
import { PassThrough } from './pass-through.ts';

/** Decides, per EC2 query-API call, whether to answer with an AWS error instead of forwarding. */
export type FaultRule = (params: URLSearchParams) => { code: string; message: string; status?: number } | undefined;

/**
 * A pass-through in front of moto that can answer chosen EC2 calls with an
 * AWS error (moto never runs out of capacity). Everything else reaches moto
 * unchanged, so the SDK's signing, retries and parsing are the real ones.
 */
export class Ec2Faults {
  private rules: FaultRule[] = [];
  /** Every EC2 call that reached the proxy, with when it arrived (epoch ms). */
  readonly calls: { at: number; params: URLSearchParams }[] = [];

  /** Every instance moto itself launched through this proxy (a RunInstances answered from the token memory is not one). */
  readonly launched: { at: number; instanceId: string; clientToken: string | null; type: string | null; spot: boolean }[] = [];

  private proxy!: PassThrough;
  private motoEc2!: EC2Client;
  /** client token -> moto's answer to the RunInstances that first used it (kept across clear(), as AWS keeps it a day). */
  private readonly tokens = new Map<string, string>();
  private replayTokens = false;
  /** instance id -> until when (epoch ms) DescribeInstances does not know it. */
  private readonly hidden = new Map<string, number>();
  private hideForMs = 0;
  private capacityEnds: { types: string[]; market: 'spot' | 'on-demand' | 'any' } | undefined;
  /** Instances ended for capacity by this proxy, and the reason their descriptions carry. */
  private readonly doomed = new Map<string, { code: string; message: string }>();
  private pageSize: number | undefined;
  /** Instances whose next accepted start ends back in stopped for capacity. */
  private readonly startFailsAfterAccept = new Set<string>();
  /** Instances sent back to stopped for capacity by this proxy: how many more descriptions still say pending. */
  private readonly stoppedForCapacity = new Map<string, { pendingLeft: number }>();
  private launchTimes = false;
  /** instance id -> its last start through this proxy (epoch ms): AWS's LaunchTime, which moto leaves at the first launch. */
  private readonly startedAt = new Map<string, number>();
  /** Called (and awaited) once moto launched an instance, before the caller gets the answer. */
  onLaunched: ((instanceId: string) => void | Promise<void>) | undefined;

  get endpoint(): string {
    return this.proxy.url;
  }

  static async start(target: string): Promise<Ec2Faults> {
    const self = new Ec2Faults();
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: region } = MOTO_CREDENTIALS;
    self.motoEc2 = new EC2Client({ endpoint: target, region, credentials: { accessKeyId, secretAccessKey } });
    const paramsOf = new WeakMap<object, URLSearchParams>();
    self.proxy = await PassThrough.start(target, {
      intercept: (req, body) => {
        const params = new URLSearchParams(body.toString('utf8'));
        paramsOf.set(req, params);
        self.calls.push({ at: Date.now(), params });
        for (const rule of self.rules) {
          const fault = rule(params);
          if (fault) return errorAnswer(fault);
        }
        const action = params.get('Action');
        // AWS sets LaunchTime when the start is asked for; recorded before moto runs it, so no description in between is stale.
        if (action === 'StartInstances' && self.launchTimes) for (const id of instanceIdsOf(params)) self.startedAt.set(id, Date.now());
        const token = params.get('ClientToken');
        if (action === 'RunInstances' && token && self.replayTokens && self.tokens.has(token)) {
          // AWS: the same token within its lifetime answers with the original instance, whatever became of it.
          return { status: 200, contentType: 'text/xml', body: self.tokens.get(token)! };
        }
        if (action === 'DescribeInstances') {
          const ids = instanceIdsOf(params);
          if (ids.length && ids.every((id) => self.isHidden(id))) {
            return errorAnswer({ code: 'InvalidInstanceID.NotFound', message: `The instance ID '${ids.join(', ')}' does not exist`, status: 400 });
          }
        }
        return undefined;
      },
      request: (req, body) => {
        const params = paramsOf.get(req);
        if (!self.pageSize || params?.get('Action') !== 'DescribeInstances' || params.has('InstanceId.1')) return undefined;
        const paged = new URLSearchParams(params);
        paged.set('MaxResults', String(self.pageSize));
        return Buffer.from(paged.toString(), 'utf8');
      },
      response: async (req, body) => {
        const params = paramsOf.get(req);
        const action = params?.get('Action');
        const xml = body.toString('utf8');
        if (action === 'RunInstances' && xml.includes('<RunInstancesResponse')) {
          const instanceId = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(xml)?.[1];
          if (!instanceId) return undefined;
          const token = params!.get('ClientToken');
          if (token && !self.tokens.has(token)) self.tokens.set(token, xml);
          const type = params!.get('InstanceType');
          const spot = params!.get('InstanceMarketOptions.MarketType') === 'spot';
          self.launched.push({ at: Date.now(), instanceId, clientToken: token, type, spot });
          if (self.hideForMs) self.hidden.set(instanceId, Date.now() + self.hideForMs);
          const ends = self.capacityEnds;
          if (ends && ends.types.includes(type ?? '') && (ends.market === 'any' || (ends.market === 'spot') === spot)) {
            // Accepted, then gone before it ever ran: what AWS does when the capacity was not there after all.
            await self.motoEc2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
            self.doomed.set(instanceId, spot
              ? { code: 'Server.InsufficientInstanceCapacity', message: 'Server.InsufficientInstanceCapacity: capacity-not-available' }
              : { code: 'Server.InsufficientInstanceCapacity', message: 'Server.InsufficientInstanceCapacity: Insufficient capacity.' });
          }
          await self.onLaunched?.(instanceId);
          return undefined;
        }
        if (action === 'StartInstances' && xml.includes('<StartInstancesResponse')) {
          const doomed = instanceIdsOf(params!).filter((id) => self.startFailsAfterAccept.delete(id));
          if (!doomed.length) return undefined;
          // Accepted (pending), then no room to place it: AWS puts it back to stopped with a capacity reason.
          await self.motoEc2.send(new StopInstancesCommand({ InstanceIds: doomed }));
          for (const id of doomed) self.stoppedForCapacity.set(id, { pendingLeft: 1 });
          return Buffer.from(xml.replace(/<currentState>[\s\S]*?<\/currentState>/g, '<currentState><code>0</code><name>pending</name></currentState>'), 'utf8');
        }
        if (action === 'DescribeInstances' && xml.includes('<reservationSet>')) return Buffer.from(self.rewriteDescription(xml), 'utf8');
        return undefined;
      },
    });
    return self;
  }

  private isHidden(instanceId: string): boolean {
    const until = this.hidden.get(instanceId);
    return until !== undefined && Date.now() < until;
  }

  /** Drops reservations of instances not yet visible; gives instances ended for capacity their state reason. */
  private rewriteDescription(xml: string): string {
    const open = xml.indexOf('<reservationSet>') + '<reservationSet>'.length;
    const close = xml.lastIndexOf('</reservationSet>');
    const kept = topLevelItems(xml.slice(open, close)).filter((item) => {
      const ids = [...item.matchAll(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g)].map((m) => m[1]!);
      return !(ids.length && ids.every((id) => this.isHidden(id)));
    }).map((item) => {
      const id = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(item)?.[1];
      if (!id) return item;
      const started = this.startedAt.get(id);
      if (started !== undefined) item = item.replace(/<launchTime>[^<]*<\/launchTime>/, `<launchTime>${new Date(started).toISOString()}</launchTime>`);
      const sentBack = this.stoppedForCapacity.get(id);
      if (sentBack && sentBack.pendingLeft > 0) {
        sentBack.pendingLeft--;
        return item.replace(/<instanceState>[\s\S]*?<\/instanceState>/, '<instanceState><code>0</code><name>pending</name></instanceState>');
      }
      if (sentBack && /<name>stopped<\/name>/.test(item)) {
        return item.replace(/<stateReason>[\s\S]*?<\/stateReason>/,
          '<stateReason><code>Server.InsufficientInstanceCapacity</code><message>Server.InsufficientInstanceCapacity: Insufficient capacity.</message></stateReason>');
      }
      const reason = this.doomed.get(id);
      if (!reason) return item;
      return item
        .replace(/<stateReason>[\s\S]*?<\/stateReason>/, `<stateReason><code>${reason.code}</code><message>${reason.message}</message></stateReason>`)
        .replace(/<instanceState>[\s\S]*?<\/instanceState>/, '<instanceState><code>48</code><name>terminated</name></instanceState>');
    });
    return xml.slice(0, open) + kept.join('') + xml.slice(close);
  }

  /** A reused ClientToken is answered with moto's answer to its first use (the original instance), as AWS does for 24 h or more. */
  rememberClientTokens(on = true): void {
    this.replayTokens = on;
  }

  /** Instances launched from now on are unknown to DescribeInstances (by id: InvalidInstanceID.NotFound; by filters: absent) for this long. */
  hideNewInstances(ms: number): void {
    this.hideForMs = ms;
  }

  /** RunInstances for these types succeeds, then the instance goes pending -> terminated for capacity. */
  capacityEndsAfterLaunch(types: string[], market: 'spot' | 'on-demand' | 'any' = 'any'): void {
    this.capacityEnds = { types, market };
  }

  /** Tag-filtered DescribeInstances answers in pages of this many reservations (NextToken for the rest). */
  paginate(pageSize: number | undefined): void {
    this.pageSize = pageSize;
  }

  /** StartInstances of this instance is accepted (pending), then it goes back to stopped with Server.InsufficientInstanceCapacity. */
  capacityStopsAfterStart(instanceId: string): void {
    this.startFailsAfterAccept.add(instanceId);
  }

  /**
   * DescribeInstances gives each instance started through this proxy its last start as LaunchTime, as AWS does
   * (moto keeps the first launch's). Kept across clear(): it is how AWS behaves, not a fault.
   */
  trackLaunchTimes(on = true): void {
    this.launchTimes = on;
  }

  /** StartInstances of this instance fails with InsufficientInstanceCapacity. */
  noCapacityToStart(instanceId: string): void {
    this.rules.push((p) => p.get('Action') === 'StartInstances' && [...p.values()].includes(instanceId)
      ? { code: 'InsufficientInstanceCapacity', message: 'Insufficient capacity.' }
      : undefined);
  }

  /** RunInstances for these instance types (and markets) fails with InsufficientInstanceCapacity. */
  noCapacityFor(types: string[], market: 'spot' | 'on-demand' | 'any' = 'any'): void {
    this.rules.push((p) => {
      if (p.get('Action') !== 'RunInstances' || !types.includes(p.get('InstanceType') ?? '')) return undefined;
      const spot = p.get('InstanceMarketOptions.MarketType') === 'spot';
      if (market !== 'any' && (market === 'spot') !== spot) return undefined;
      return { code: 'InsufficientInstanceCapacity', message: `We currently do not have sufficient ${p.get('InstanceType')} capacity in the Availability Zone you requested.` };
    });
  }

  /** When an action was called for an instance (the last such call), epoch ms. */
  calledAt(action: string, instanceId?: string): number | undefined {
    return this.calls.filter((c) => c.params.get('Action') === action &&
      (!instanceId || [...c.params.values()].includes(instanceId))).at(-1)?.at;
  }

  /** Back to a plain pass-through (the token memory stays, as AWS's does). */
  clear(): void {
    this.rules = [];
    this.calls.length = 0;
    this.launched.length = 0;
    this.replayTokens = false;
    this.hideForMs = 0;
    this.hidden.clear();
    this.capacityEnds = undefined;
    this.pageSize = undefined;
    this.startFailsAfterAccept.clear();
    this.stoppedForCapacity.clear();
    this.onLaunched = undefined;
  }

  runInstancesCalls(): { type: string | null; spot: boolean }[] {
    return this.calls.map((c) => c.params).filter((p) => p.get('Action') === 'RunInstances')
      .map((p) => ({ type: p.get('InstanceType'), spot: p.get('InstanceMarketOptions.MarketType') === 'spot' }));
  }

  /** DescribeInstances calls that asked for the next page. */
  pagedCalls(): number {
    return this.calls.filter((c) => c.params.get('Action') === 'DescribeInstances' && c.params.has('NextToken')).length;
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    this.motoEc2.destroy();
  }
}

/** The InstanceId.N values of a query-API call. */
function instanceIdsOf(params: URLSearchParams): string[] {
  return [...params.entries()].filter(([k]) => /^InstanceId\.\d+$/.test(k)).map(([, v]) => v);
}

function errorAnswer(fault: { code: string; message: string; status?: number }) {
  return {
    status: fault.status ?? 500,
    contentType: 'text/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${fault.code}</Code><Message>${fault.message}</Message></Error></Errors><RequestID>cd4ml-fault</RequestID></Response>`,
  };
}

/** The top-level <item> elements of an XML list's content (items nest inside items). */
function topLevelItems(content: string): string[] {
  const items: string[] = [];
  const tag = /<(\/?)item>|<item\/>/g;
  let depth = 0;
  let start = -1;
  for (let m = tag.exec(content); m; m = tag.exec(content)) {
    if (m[0] === '<item/>') {
      if (depth === 0) items.push(m[0]);
      continue;
    }
    if (!m[1]) {
      if (depth++ === 0) start = m.index;
    } else if (--depth === 0) {
      items.push(content.slice(start, m.index + m[0].length));
    }
  }
  return items;
}
