import { createServer, request, type IncomingMessage, type Server } from 'node:http';

/**
 * An HTTP proxy in front of moto that can damage bytes on the way, the way a
 * bad NIC or a buggy middlebox would: it flips one byte in the middle of every
 * PUT body above 1 KiB (a PutObject or an UploadPart) with `corruptUploads`,
 * and of every GET response body above 1 KiB with `corruptDownloads`. moto
 * stores what it receives without checking the checksum header, so only a
 * check after the upload can notice.
 */
export class CorruptingProxy {
  corruptUploads = false;
  corruptDownloads = false;
  /** Bodies damaged so far. */
  corrupted = 0;

  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(target: string): Promise<CorruptingProxy> {
    const to = new URL(target);
    let proxy: CorruptingProxy | undefined;
    const damage = (body: Buffer, when: boolean): Buffer => {
      if (when && body.length > 1024) {
        body[body.length >> 1]! ^= 0xff;
        proxy!.corrupted++;
      }
      return body;
    };
    const server = createServer((req, res) => {
      void readAll(req).then((body) => {
        damage(body, proxy!.corruptUploads && req.method === 'PUT');
        const headers = { ...req.headers, 'content-length': String(body.length) };
        delete headers.expect;
        delete headers['transfer-encoding'];
        const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (up) => {
          void readAll(up).then((answer) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(damage(answer, proxy!.corruptDownloads && req.method === 'GET'));
          });
        });
        upstream.on('error', (err) => res.destroy(err));
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    proxy = new CorruptingProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
