import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, createSecureContext, type PeerCertificate } from 'node:tls';
import { temporalUnreachable, type TemporalConnectionOptions, type TemporalSettings, type TemporalTlsConfig, type TlsProbe } from './temporal-env.ts';

// When the SDK cannot connect over TLS, gRPC says only "failed to connect": the reason stays
// inside its transport. cd4ml then makes one TLS handshake of its own, with the same options
// (ALPN h2, CA, client pair, server name), and reads node's error code to name the setting.
// node:tls, so not part of the index (workflow code must never load it).

/** The start of an HTTP/2 connection (preface, empty SETTINGS): a gRPC server answers with its SETTINGS. */
const H2_START = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** node's codes for a server certificate no trusted CA signed. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);
/** TLS alerts about the client's certificate: 42 bad, 43 unsupported, 44 revoked, 45 expired, 46 unknown, 48 unknown CA, 49 access denied. */
const CLIENT_CERT_ALERT = /^ERR_SSL_(SSLV3_ALERT_(BAD|UNSUPPORTED)_CERTIFICATE|SSLV3_ALERT_CERTIFICATE_(REVOKED|EXPIRED|UNKNOWN)|TLSV1_ALERT_(UNKNOWN_CA|ACCESS_DENIED))$/;
/** What OpenSSL says when the answer to its ClientHello is not TLS. */
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']);
const NO_ANSWER = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** A file the settings name that TLS cannot use, found before any connection. */
function badFile(tls: TemporalTlsConfig): TlsProbe | undefined {
  const pair = tls.clientCertPair;
  const checks: [Extract<TlsProbe, { kind: 'bad-file' }>['option'], string, () => unknown][] = [
    ['serverCaCertPath', 'is not a PEM certificate', () => tls.serverRootCACertificate && new X509Certificate(tls.serverRootCACertificate)],
    ['clientCertPath', 'is not a PEM certificate', () => pair && createSecureContext({ cert: pair.crt })],
    ['clientKeyPath', 'is not a PEM private key (or is encrypted)', () => pair && createSecureContext({ key: pair.key })],
    ['clientKeyPath', 'is not the key of TEMPORAL_TLS_CLIENT_CERT_PATH\'s certificate', () => pair && createSecureContext({ cert: pair.crt, key: pair.key })],
  ];
  for (const [option, reason, check] of checks) {
    try {
      check();
    } catch {
      return { kind: 'bad-file', option, reason };
    }
  }
  return undefined;
}

function hostAndPort(address: string): { host: string; port: number } {
  const m = /^\[(.+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  return { host: m?.[1] ?? address, port: Number(m?.[2] ?? 7233) };
}

/** The names a certificate is for, as it lists them (a few; never its content). */
function certNames(cert: PeerCertificate | undefined): string {
  const names = cert?.subjectaltname?.split(', ') ?? (cert?.subject?.CN ? [`CN=${cert.subject.CN}`] : []);
  return names.length > 4 ? `${names.slice(0, 4).join(', ')}, …` : names.join(', ');
}

/**
 * One TLS handshake with the server at `address`, as the SDK would make it, and what it
 * shows: which TLS setting is wrong, that TLS works, or that nothing answers. At most
 * `timeoutMs`; never throws.
 */
export function probeTemporalTls(address: string, tls: TemporalTlsConfig | true, timeoutMs = 3_000): Promise<TlsProbe> {
  const config = tls === true ? {} : tls;
  const bad = badFile(config);
  if (bad) return Promise.resolve(bad);
  const { host, port } = hostAndPort(address);
  const checked = config.serverNameOverride ?? host;
  const withCert = Boolean(config.clientCertPair);
  return new Promise((resolve) => {
    let secure = false;
    const socket = connect({
      host, port, ALPNProtocols: ['h2'],
      // SNI is for names only (an IP address there is against RFC 6066; node warns).
      ...(isIP(checked) ? {} : { servername: checked }),
      ...(config.serverRootCACertificate ? { ca: config.serverRootCACertificate } : {}),
      ...(config.clientCertPair ? { cert: config.clientCertPair.crt, key: config.clientCertPair.key } : {}),
    });
    const done = (probe: TlsProbe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const timer = setTimeout(() => done({ kind: 'no-answer' }), timeoutMs);
    // TLS 1.3: the server checks the client's certificate after the client's side of the
    // handshake is done; a refusal comes as an alert, or (node's servers) as a closed connection.
    const afterHandshake = (): TlsProbe => withCert
      ? { kind: 'client-cert-refused', reason: 'the server closed the connection after the handshake' }
      : { kind: 'other', reason: 'the server closed the connection after the handshake' };
    socket.once('secureConnect', () => {
      secure = true;
      socket.write(H2_START);
    });
    socket.once('data', () => done({ kind: 'handshake-ok' }));
    socket.once('close', () => done(secure ? afterHandshake() : { kind: 'other', reason: 'the server closed the connection during the handshake' }));
    socket.once('error', (err: NodeJS.ErrnoException & { reason?: string; cert?: PeerCertificate }) => {
      const code = err.code ?? '';
      const reason = err.reason ?? err.message.split('\n')[0]!;
      if (UNTRUSTED.has(code)) done({ kind: 'server-untrusted', reason: err.message });
      else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') done({ kind: 'server-name', checked, names: certNames(err.cert) });
      else if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') done({ kind: 'client-cert-required' });
      else if (CLIENT_CERT_ALERT.test(code)) done(withCert ? { kind: 'client-cert-refused', reason } : { kind: 'client-cert-required' });
      else if (NOT_TLS.has(code)) done({ kind: 'no-tls' });
      else if (NO_ANSWER.has(code)) done({ kind: 'no-answer' });
      else if (secure && (code === 'ECONNRESET' || code === 'EPIPE')) done(afterHandshake());
      else done({ kind: 'other', reason });
    });
  });
}

/**
 * temporalUnreachable for a connection that failed: with TLS on, after a probe of the
 * handshake, so that the message names the TLS setting at fault (within `probeTemporalTls`'s seconds).
 */
export async function whyTemporalUnreachable(settings: TemporalSettings, options: TemporalConnectionOptions, cause: unknown): Promise<string> {
  return temporalUnreachable(settings, cause, options.tls ? await probeTemporalTls(options.address, options.tls) : undefined);
}
