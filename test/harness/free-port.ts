import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return listenOn(0);
}

/**
 * A free loopback port below the kernel's ephemeral range (and below 32768), for a server
 * that must come back on the same port after a crash: an ephemeral port may meanwhile be
 * taken as the local end of some outgoing connection. `avoid`: ports already handed out.
 */
export async function freeStablePort(avoid: ReadonlySet<number> = new Set()): Promise<number> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const top = Math.min(32767, Number(range.trim().split(/\s+/)[0]) - 1);
  const bottom = 10_000;
  for (let i = 0; i < 200; i++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if (avoid.has(port)) continue;
    const got = await listenOn(port).catch(() => undefined);
    if (got) return got;
  }
  throw new Error(`no free loopback port found in ${bottom}-${top}`);
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as { port: number };
      srv.close(() => resolve(bound));
    });
  });
}
