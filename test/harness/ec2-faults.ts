import http from 'node:http';

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

  private constructor(private readonly server: http.Server, readonly endpoint: string) {}

  static async start(target: string): Promise<Ec2Faults> {
    let self: Ec2Faults | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const params = new URLSearchParams(body.toString('utf8'));
        self!.calls.push({ at: Date.now(), params });
        for (const rule of self!.rules) {
          const fault = rule(params);
          if (fault) {
            res.writeHead(fault.status ?? 500, { 'content-type': 'text/xml' });
            res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${fault.code}</Code><Message>${fault.message}</Message></Error></Errors><RequestID>cd4ml-fault</RequestID></Response>`);
            return;
          }
        }
        const url = new URL(req.url ?? '/', target);
        const upstream = http.request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', (err) => { res.writeHead(502); res.end(String(err)); });
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    self = new Ec2Faults(server, `http://127.0.0.1:${port}`);
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

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
