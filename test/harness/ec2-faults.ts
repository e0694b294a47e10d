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

  private proxy!: PassThrough;

  get endpoint(): string {
    return this.proxy.url;
  }

  static async start(target: string): Promise<Ec2Faults> {
    const self = new Ec2Faults();
    self.proxy = await PassThrough.start(target, {
      intercept: (_req, body) => {
        const params = new URLSearchParams(body.toString('utf8'));
        self.calls.push({ at: Date.now(), params });
        for (const rule of self.rules) {
          const fault = rule(params);
          if (fault) {
            return {
              status: fault.status ?? 500,
              contentType: 'text/xml',
              body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${fault.code}</Code><Message>${fault.message}</Message></Error></Errors><RequestID>cd4ml-fault</RequestID></Response>`,
            };
          }
        }
        return undefined;
      },
    });
    return self;
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

  clear(): void {
    this.rules = [];
    this.calls.length = 0;
  }

  runInstancesCalls(): { type: string | null; spot: boolean }[] {
    return this.calls.map((c) => c.params).filter((p) => p.get('Action') === 'RunInstances')
      .map((p) => ({ type: p.get('InstanceType'), spot: p.get('InstanceMarketOptions.MarketType') === 'spot' }));
  }

  stop(): Promise<void> {
    return this.proxy.stop();
  }
}
