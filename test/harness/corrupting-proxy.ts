import { PassThrough } from './pass-through.ts';

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
  private proxy!: PassThrough;

  get url(): string {
    return this.proxy.url;
  }

  static async start(target: string): Promise<CorruptingProxy> {
    const self = new CorruptingProxy();
    const damage = (body: Buffer, when: boolean): void => {
      if (when && body.length > 1024) {
        body[body.length >> 1]! ^= 0xff;
        self.corrupted++;
      }
    };
    self.proxy = await PassThrough.start(target, {
      request: (req, body) => damage(body, self.corruptUploads && req.method === 'PUT'),
      response: (req, body) => damage(body, self.corruptDownloads && req.method === 'GET'),
    });
    return self;
  }

  stop(): Promise<void> {
    return this.proxy.stop();
  }
}
