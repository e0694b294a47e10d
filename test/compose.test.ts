// docker-compose.yml is for users (no Docker engine runs in tests): check that it parses,
// pins the Temporal image, exposes the ports, and that the worker commands name real files.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtFile } from '../scripts/build-targets.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Service {
  image?: string;
  profiles?: string[];
  build?: string | { context?: string };
  command?: string | string[];
  ports?: string[];
  environment?: Record<string, string> | string[];
  volumes?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8')) as Compose;
const words = (command: Service['command']): string[] =>
  Array.isArray(command) ? command : (command ?? '').split(/\s+/).filter(Boolean);
const env = (service: Service): Record<string, string> =>
  Array.isArray(service.environment)
    ? Object.fromEntries(service.environment.map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]))
    : (service.environment ?? {});

describe('docker-compose.yml', () => {
  it('has the Temporal server, both workers and the opt-in webhook gateway', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['control-worker', 'location-worker', 'temporal', 'webhook']);
    expect(Object.entries(compose.services).filter(([, s]) => s.profiles).map(([n, s]) => [n, s.profiles])).toEqual([['webhook', ['webhook']]]);
  });

  it('runs the webhook gateway from the CLI on :8787 with its secret from the environment', () => {
    const webhook = compose.services.webhook!;
    const command = words(webhook.command);
    expect(command.slice(0, 3)).toEqual(['node', builtFile('client/src/cli.ts'), 'webhook']);
    expect(command[command.indexOf('--port') + 1]).toBe('8787');
    expect(command[command.indexOf('--project') + 1]).toMatch(/^\$\{CD4ML_WEBHOOK_PROJECT/);
    expect(webhook.ports).toEqual(['8787:8787']);
    expect(env(webhook)).toEqual({ TEMPORAL_ADDRESS: 'temporal:7233', CD4ML_WEBHOOK_SECRET: '${CD4ML_WEBHOOK_SECRET:-}' });
  });

  it('runs the pinned Temporal CLI dev server with its ports and a persistent database', () => {
    const temporal = compose.services.temporal!;
    expect(temporal.image).toBe('temporalio/temporal:1.5.1');
    const command = words(temporal.command);
    expect(command.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(command).toContain('--db-filename');
    expect(command[command.indexOf('--ip') + 1]).toBe('0.0.0.0');
    const dbFile = command[command.indexOf('--db-filename') + 1]!;
    const hostPorts = (temporal.ports ?? []).map((p) => String(p).split(':')[0]);
    expect(hostPorts).toEqual(expect.arrayContaining(['7233', '8233']));
    const mounts = (temporal.volumes ?? []).map((v) => v.split(':')[1]);
    expect(mounts.some((m) => m !== undefined && dbFile.startsWith(`${m}/`))).toBe(true);
  });

  for (const [name, script, extra] of [
    ['control-worker', 'workers/src/control-worker.ts', []],
    ['location-worker', 'workers/src/location-worker.ts', ['--location', 'local']],
  ] as const) {
    it(`${name} is built from the repo and runs ${script}, built`, () => {
      const service = compose.services[name]!;
      const context = typeof service.build === 'string' ? service.build : service.build?.context;
      expect(context).toBe('.');
      // The image the workers run in: built from the repo's Dockerfile, which installs the workspace.
      const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
      expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
      expect(dockerfile).toMatch(/RUN pnpm exec tsx scripts\/build.ts/);
      const command = words(service.command);
      expect(command.slice(0, 2)).toEqual(['node', builtFile(script)]);
      expect(command.slice(2)).toEqual([...extra]);
      expect(existsSync(`${root}${script}`), `${script} should exist`).toBe(true);
      expect(env(service)).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', CD4ML_STORE: '/releases' });
    });
  }

  it('gives both workers the same releases volume at CD4ML_STORE', () => {
    const mount = (name: string) =>
      (compose.services[name]!.volumes ?? []).find((v) => v.split(':')[1] === '/releases')?.split(':')[0];
    const volume = mount('control-worker');
    expect(volume).toBeDefined();
    expect(mount('location-worker')).toBe(volume);
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
  });
});
