import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createServer, type Server } from 'node:tls';
import { promisify } from 'node:util';

/** A certificate and its key, as PEM files. */
export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * Certificates made for one test run with `openssl`, in a temp folder: a CA, a server
 * certificate it signed for localhost/127.0.0.1, one it signed for another name, a client
 * certificate it signed, and a second CA nobody trusts with a client certificate it signed.
 */
export class TestCerts {
  private constructor(
    readonly dir: string, readonly ca: string, readonly server: CertFiles, readonly otherServer: CertFiles,
    readonly client: CertFiles, readonly untrustedCa: string, readonly untrustedClient: CertFiles,
  ) {}

  static async create(): Promise<TestCerts> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-tls-'));
    const openssl = async (name: string, subject: string, extensions: string[], signer?: CertFiles): Promise<CertFiles> => {
      const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
      const config = path.join(dir, `${name}.cnf`);
      await writeFile(config, ['[req]', 'distinguished_name = dn', '[dn]', '[ext]', ...extensions, ''].join('\n'));
      await promisify(execFile)('openssl', [
        'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-days', '2',
        '-subj', `/CN=${subject}`, '-config', config, '-extensions', 'ext', '-keyout', files.key, '-out', files.cert,
        ...(signer ? ['-CA', signer.cert, '-CAkey', signer.key] : []),
      ]);
      return files;
    };
    const ca = ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign'];
    const leaf = (usage: string, names?: string) => [
      'basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', `extendedKeyUsage = ${usage}`,
      ...(names ? [`subjectAltName = ${names}`] : []),
    ];
    try {
      const trusted = await openssl('ca', 'cd4ml test CA', ca);
      const untrusted = await openssl('untrusted-ca', 'cd4ml untrusted CA', ca);
      return new TestCerts(
        dir, trusted.cert,
        await openssl('server', 'localhost', leaf('serverAuth', 'DNS:localhost, IP:127.0.0.1'), trusted),
        await openssl('other-server', 'other.example', leaf('serverAuth', 'DNS:other.example'), trusted),
        await openssl('client', 'cd4ml worker', leaf('clientAuth'), trusted),
        untrusted.cert, await openssl('untrusted-client', 'cd4ml stranger', leaf('clientAuth'), untrusted),
      );
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

export interface TlsProxyOptions {
  /** The server's certificate and key. */
  server: CertFiles;
  /** mTLS: ask for a client certificate and refuse any this CA did not sign. */
  clientCa?: string;
}

/**
 * A TLS front for a plaintext gRPC server (the Temporal dev server has no TLS option): it
 * terminates TLS on a free loopback port and pipes each connection's bytes to `target`.
 * gRPC over TLS is HTTP/2 with prior knowledge once the handshake is done, so a byte pipe
 * is all it takes.
 */
export class TlsProxy {
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly address: string) {}

  static async start(target: string, opts: TlsProxyOptions): Promise<TlsProxy> {
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const server = createServer({
      cert: await readFile(opts.server.cert), key: await readFile(opts.server.key), ALPNProtocols: ['h2'],
      ...(opts.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: await readFile(opts.clientCa) } : {}),
    });
    // A refused handshake is what the tests are about: nothing to log.
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TlsProxy(server, `127.0.0.1:${(server.address() as { port: number }).port}`);
    server.on('secureConnection', (client) => {
      const upstream = connect(port, host);
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy.sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
    return proxy;
  }

  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/**
 * The fronts the TLS tests use, on one plaintext server, with certificates made for the run:
 * `tls` (a certificate for localhost and 127.0.0.1 of the test CA), `otherName` (one for
 * other.example only), `mtls` (as `tls`, and a client certificate of the test CA required).
 */
export class TlsFronts {
  private constructor(readonly certs: TestCerts, readonly tls: TlsProxy, readonly otherName: TlsProxy, readonly mtls: TlsProxy) {}

  static async start(target: string): Promise<TlsFronts> {
    const certs = await TestCerts.create();
    return new TlsFronts(
      certs,
      await TlsProxy.start(target, { server: certs.server }),
      await TlsProxy.start(target, { server: certs.otherServer }),
      await TlsProxy.start(target, { server: certs.server, clientCa: certs.ca }),
    );
  }

  /** The settings that trust the test CA. */
  get ca(): Record<string, string> {
    return { TEMPORAL_TLS_SERVER_CA_CERT_PATH: this.certs.ca };
  }

  /** The settings of a client certificate. */
  pair(c: CertFiles): Record<string, string> {
    return { TEMPORAL_TLS_CLIENT_CERT_PATH: c.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: c.key };
  }

  async stop(): Promise<void> {
    await Promise.all([this.tls, this.otherName, this.mtls].map((p) => p.stop()));
    await this.certs.remove();
  }
}
