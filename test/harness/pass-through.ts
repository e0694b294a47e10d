import { createServer, request, type IncomingMessage, type Server } from 'node:http';

type Answer = { status: number; contentType: string; body: string };

export interface PassThroughHooks {
  /** Answer this request here instead of forwarding it (undefined: forward). */
  intercept?(req: IncomingMessage, body: Buffer): Answer | undefined | Promise<Answer | undefined>;
  /** May change the request body (in place, or by returning a new one) before it is forwarded. */
  request?(req: IncomingMessage, body: Buffer): Buffer | void;
  /** May change the response body (in place, or by returning a new one, also later) before it is returned. */
  response?(req: IncomingMessage, body: Buffer): Buffer | void | Promise<Buffer | void>;
}

/**
 * An HTTP pass-through in front of a real peer (moto), for the faults the
 * peer cannot produce itself. Bodies are buffered both ways so hooks can see
 * and change them; everything else reaches the peer unchanged.
 */
export class PassThrough {
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(target: string, hooks: PassThroughHooks): Promise<PassThrough> {
    const to = new URL(target);
    const server = createServer((req, res) => {
      void readAll(req).then(async (received) => {
        const answer = await hooks.intercept?.(req, received);
        if (answer) {
          res.writeHead(answer.status, { 'content-type': answer.contentType });
          res.end(answer.body);
          return;
        }
        const body = hooks.request?.(req, received) ?? received;
        const headers = { ...req.headers, 'content-length': String(body.length) };
        delete headers.expect;
        delete headers['transfer-encoding'];
        const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (up) => {
          void readAll(up).then(async (original) => {
            const reply = (await hooks.response?.(req, original)) ?? original;
            const replyHeaders = { ...up.headers };
            if (reply !== original) {
              replyHeaders['content-length'] = String(reply.length);
              delete replyHeaders['transfer-encoding'];
            }
            res.writeHead(up.statusCode ?? 502, replyHeaders);
            res.end(reply);
          }).catch((err: unknown) => res.destroy(err as Error));
        });
        upstream.on('error', (err) => res.destroy(err));
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return new PassThrough(server, `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
