import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// A fake of the EC2 instance metadata service, IMDSv2 only (as an instance launched with
// HttpTokens=required answers): the documented paths cd4ml's user data and workers read,
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html
//   PUT /latest/api/token  with X-aws-ec2-metadata-token-ttl-seconds: 1..21600 -> a token
//   GET /latest/meta-data/<path>  with X-aws-ec2-metadata-token: <token> -> text/plain
// A GET without a valid token is 401, a PUT without a valid TTL 400, a request carrying
// X-Forwarded-For 403 (IMDS refuses proxied token requests), an unknown path 404.
// moto has no metadata service, so this stands in for it on loopback.

export interface ImdsRequest {
  method: string;
  path: string;
  status: number;
  /** Whether the request carried a token this server handed out and that had not expired. */
  tokenValid: boolean;
}

export interface FakeImdsOptions {
  instanceId?: string;
  region?: string;
  instanceType?: string;
}

export class FakeImds {
  /** Metadata paths under /latest/meta-data/, editable by a test (e.g. spot/instance-action). */
  readonly metadata = new Map<string, string>();
  readonly requests: ImdsRequest[] = [];
  private readonly tokens = new Map<string, number>();
  /** While true the service answers nothing (requests hang): an outage, not a notice. */
  silent = false;

  private constructor(private readonly server: http.Server, readonly endpoint: string, readonly instanceId: string) {}

  static async start(opts: FakeImdsOptions = {}): Promise<FakeImds> {
    const instanceId = opts.instanceId ?? `i-0${randomBytes(8).toString('hex')}`;
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const imds = new FakeImds(server, `http://127.0.0.1:${port}`, instanceId);
    const region = opts.region ?? 'eu-west-1';
    imds.metadata.set('instance-id', instanceId);
    imds.metadata.set('instance-type', opts.instanceType ?? 'g5.xlarge');
    imds.metadata.set('placement/region', region);
    imds.metadata.set('placement/availability-zone', `${region}a`);
    imds.metadata.set('hostname', `ip-10-0-0-12.${region}.compute.internal`);
    server.on('request', (req, res) => imds.handle(req, res));
    return imds;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://imds');
    const given = req.headers['x-aws-ec2-metadata-token'];
    const expires = typeof given === 'string' ? this.tokens.get(given) : undefined;
    const tokenValid = expires !== undefined && expires > Date.now();
    const answer = (status: number, body = ''): void => {
      this.requests.push({ method: req.method ?? '', path: url.pathname, status, tokenValid });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    };
    req.resume();
    if (this.silent) {
      this.requests.push({ method: req.method ?? '', path: url.pathname, status: 0, tokenValid });
      return;
    }
    if (req.headers['x-forwarded-for']) return answer(403, 'Forbidden');
    if (url.pathname === '/latest/api/token') {
      if (req.method !== 'PUT') return answer(405, 'Method Not Allowed');
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return answer(400, 'Bad Request');
      const token = randomBytes(24).toString('base64url');
      this.tokens.set(token, Date.now() + ttl * 1000);
      res.setHeader('x-aws-ec2-metadata-token-ttl-seconds', String(ttl));
      return answer(200, token);
    }
    if (!url.pathname.startsWith('/latest/meta-data/')) return answer(404, 'Not Found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, 'Method Not Allowed');
    if (!tokenValid) return answer(401, 'Unauthorized');
    const value = this.metadata.get(url.pathname.slice('/latest/meta-data/'.length).replace(/\/$/, ''));
    return value === undefined ? answer(404, 'Not Found') : answer(200, value);
  }

  /** EC2's two-minute notice (spot/instance-action), as AWS documents its body. */
  interrupt(action: 'terminate' | 'stop' | 'hibernate' = 'terminate', inSeconds = 120): void {
    const time = new Date(Date.now() + inSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    this.metadata.set('spot/instance-action', JSON.stringify({ action, time }));
  }

  /** The rebalance recommendation (events/recommendations/rebalance). */
  recommendRebalance(): void {
    this.metadata.set('events/recommendations/rebalance', JSON.stringify({ noticeTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
