// docker-compose.yml is for users (no Docker engine runs in tests): check it against what the images
// document (entry points, environment), against what cd4ml's own code reads, and against the topology
// the native tests run (test/integration/temporal-cluster.test.ts: PostgreSQL, the Temporal server
// v1.29.1 with deploy/temporal/, the built workers).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TEMPORAL_ENV_VARS } from '@cd4ml/contracts';
import { HEALTH_READY_PATH } from '@cd4ml/serving/http/health';
import { builtFile } from '../scripts/build-targets.ts';
import { REPO_ROOT as root, TEMPORAL_CONFIG_DIR } from './harness/paths.ts';
import { schemaSteps, TEMPORAL_DATABASES } from './harness/temporal-schema.ts';

interface Service {
  image?: string;
  profiles?: string[];
  build?: string | { context?: string };
  entrypoint?: string | string[];
  command?: string | string[];
  ports?: string[];
  environment?: Record<string, string | number | null> | string[];
  volumes?: string[];
  networks?: Record<string, { aliases?: string[] } | null> | string[];
  depends_on?: string[] | Record<string, Dependency>;
  healthcheck?: { test?: string[] | string };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const text = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
// merge: Compose resolves `<<: *anchor` (YAML 1.1 merge keys), so the test does too.
const compose = parse(text, { merge: true }) as Compose;
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
const words = (command: Service['command']): string[] =>
  Array.isArray(command) ? command : (command ?? '').split(/\s+/).filter(Boolean);
const env = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]))
    : Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
type Dependency = { condition?: string; required?: boolean };
const dependsOn = (s: Service): Record<string, Dependency> =>
  Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {});
/** `[ip:]host:container` -> host and container ports. */
const published = (s: Service) => (s.ports ?? []).map((p) => {
  const parts = String(p).split(':');
  return { ip: parts.length === 3 ? parts[0] : undefined, host: parts.at(-2), container: parts.at(-1) };
});
/** `source:target[:ro]` of a volume or bind mount; a `${VAR:-default}` source keeps its colon. */
const mounts = (s: Service) => (s.volumes ?? []).map((v) => {
  const [source, target, mode] = v.split(/:(?![^{]*\})/);
  return { source: source!, target: target!, mode };
});
/** The lines of a one-shot `sh -ec` script. */
const script = (s: Service): string[] => {
  expect(s.entrypoint).toEqual(['/bin/sh', '-ec']);
  const command = Array.isArray(s.command) ? s.command : [s.command ?? ''];
  expect(command).toHaveLength(1);
  return command[0]!.split('\n').map((l) => l.trim()).filter(Boolean);
};

const CLUSTER = ['postgresql', 'temporal-schema', 'temporal', 'temporal-namespace', 'temporal-ui'];
const WORKERS = ['control-worker', 'location-worker'];
/** The services that connect to Temporal as clients, with contracts/src/temporal-env.ts's settings. */
const TEMPORAL_CLIENTS = [...WORKERS, 'webhook'];

describe('docker-compose.yml: services and profiles', () => {
  it('has the production cluster, the dev server, both workers, serve and the webhook gateway, in their profiles', () => {
    const profiles = Object.fromEntries(Object.entries(services).map(([n, s]) => [n, s.profiles ?? []]));
    expect(profiles).toEqual({
      ...Object.fromEntries(CLUSTER.map((n) => [n, ['cluster']])),
      'temporal-dev': ['dev'],
      'control-worker': [],
      'location-worker': [],
      serve: [],
      webhook: ['webhook'],
    });
  });

  it('pins every image: PostgreSQL 16, Temporal server and admin-tools 1.29.1 (not the deprecated auto-setup), UI, CLI dev server', () => {
    const images = Object.fromEntries(Object.entries(services).filter(([, s]) => s.image).map(([n, s]) => [n, s.image]));
    expect(images).toEqual({
      postgresql: 'postgres:16',
      // The tag Temporal's own compose files use for 1.29.1 (temporalio/docker-compose .env); a plain 1.29.1 was not published.
      'temporal-schema': 'temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0',
      temporal: 'temporalio/server:1.29.1',
      'temporal-namespace': 'temporalio/admin-tools:1.29.1-tctl-1.18.4-cli-1.5.0',
      'temporal-ui': 'temporalio/ui:2.42.1',
      'temporal-dev': 'temporalio/temporal:1.5.1',
    });
    // The same server version the native tests build (scripts/bootstrap.sh).
    const bootstrap = readFileSync(path.join(root, 'scripts/bootstrap.sh'), 'utf8');
    expect(bootstrap).toMatch(/^TEMPORAL_SERVER_VERSION=1\.29\.1$/m);
    expect(bootstrap).toMatch(/^TEMPORAL_VERSION=1\.5\.1$/m);
  });

  it('every ${VAR} has a default: Compose interpolates all services before it applies profiles, so a required one would stop every command', () => {
    const yaml = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    const uses = [...yaml.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!);
    expect(uses.length).toBeGreaterThan(0);
    expect(uses.filter((u) => !/^[A-Z0-9_]+:-/.test(u))).toEqual([]);
  });

  it('declares every named volume the services mount', () => {
    const named = Object.values(services).flatMap((s) => mounts(s)).map((m) => m.source).filter((src) => !/^[.$/]/.test(src));
    expect(new Set(named)).toEqual(new Set(Object.keys(compose.volumes ?? {})));
  });

  it('every service_healthy dependency has a health check', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, d] of Object.entries(dependsOn(s))) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (d.condition === 'service_healthy') expect(services[dep]!.healthcheck?.test, `${dep} (for ${name})`).toBeDefined();
      }
    }
  });
});

describe('docker-compose.yml: the cluster profile', () => {
  it('PostgreSQL keeps its data in a volume, is healthy once it accepts TCP connections, and is not published', () => {
    const pg = service('postgresql');
    expect(mounts(pg)).toEqual([{ source: 'postgres-data', target: '/var/lib/postgresql/data', mode: undefined }]);
    expect(pg.healthcheck?.test).toEqual(['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', 'temporal']);
    expect(env(pg)).toEqual({ POSTGRES_USER: 'temporal', POSTGRES_PASSWORD: '${CD4ML_POSTGRES_PASSWORD:-temporal}' });
    expect(pg.ports).toBeUndefined();
  });

  it('sets up both databases with temporal-sql-tool exactly as the native cluster does, once PostgreSQL is healthy', () => {
    const schema = service('temporal-schema');
    expect(dependsOn(schema)).toEqual({ postgresql: { condition: 'service_healthy' } });
    const expected = Object.entries(TEMPORAL_DATABASES).flatMap(([db, name]) =>
      schemaSteps(name).map((step) => ['temporal-sql-tool', '--plugin', 'postgres12', '--db', db, ...step].join(' ')));
    expect(script(schema)).toEqual(expected);
    // temporal-sql-tool's own variables (tools/sql/main.go: SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD).
    expect(env(schema)).toEqual({
      SQL_HOST: 'postgresql', SQL_PORT: '5432', SQL_USER: 'temporal', SQL_PASSWORD: env(service('postgresql')).POSTGRES_PASSWORD,
    });
  });

  // The names the temporalio/server 1.29.1 image reads: its entrypoint (docker/entrypoint.sh of
  // temporalio/docker-builds) and the config template it renders, the SQL and server sections of
  // https://github.com/temporalio/temporal/blob/v1.29.1/docker/config_template.yaml
  // (Cassandra, MySQL, Elasticsearch and auth names left out).
  const SERVER_IMAGE_ENV = new Set([
    // entrypoint.sh
    'BIND_ON_IP', 'TEMPORAL_BROADCAST_ADDRESS', 'TEMPORAL_ADDRESS', 'TEMPORAL_CLI_ADDRESS', 'SERVICES',
    // persistence
    'LOG_LEVEL', 'NUM_HISTORY_SHARDS', 'DB', 'DBNAME', 'VISIBILITY_DBNAME', 'DB_PORT', 'VISIBILITY_DB_PORT',
    'POSTGRES_SEEDS', 'POSTGRES_USER', 'POSTGRES_PWD', 'VISIBILITY_POSTGRES_SEEDS', 'VISIBILITY_POSTGRES_USER', 'VISIBILITY_POSTGRES_PWD',
    'SQL_MAX_CONNS', 'SQL_MAX_IDLE_CONNS', 'SQL_MAX_CONN_TIME', 'SQL_VIS_MAX_CONNS', 'SQL_VIS_MAX_IDLE_CONNS', 'SQL_VIS_MAX_CONN_TIME',
    'SQL_TLS_ENABLED', 'SQL_CA', 'SQL_CERT', 'SQL_CERT_KEY', 'SQL_HOST_VERIFICATION', 'SQL_HOST_NAME',
    // global, services, dynamic config
    'PPROF_PORT', 'STATSD_ENDPOINT', 'PROMETHEUS_ENDPOINT', 'PROMETHEUS_TIMER_TYPE',
    'FRONTEND_GRPC_PORT', 'FRONTEND_HTTP_PORT', 'FRONTEND_MEMBERSHIP_PORT', 'HISTORY_GRPC_PORT', 'HISTORY_MEMBERSHIP_PORT',
    'MATCHING_GRPC_PORT', 'MATCHING_MEMBERSHIP_PORT', 'WORKER_GRPC_PORT', 'WORKER_MEMBERSHIP_PORT',
    'USE_INTERNAL_FRONTEND', 'INTERNAL_FRONTEND_GRPC_PORT', 'INTERNAL_FRONTEND_HTTP_PORT', 'INTERNAL_FRONTEND_MEMBERSHIP_PORT',
    'PUBLIC_FRONTEND_ADDRESS', 'DYNAMIC_CONFIG_FILE_PATH',
  ]);
  /** The names deploy/temporal/postgresql.yaml (the native tests' config) reads: `env "NAME"`. */
  const nativeEnv = new Set([...readFileSync(path.join(TEMPORAL_CONFIG_DIR, 'postgresql.yaml'), 'utf8').matchAll(/env "([A-Z0-9_]+)"/g)].map((m) => m[1]!));

  it('deploy/temporal/postgresql.yaml reads only names of the server image, so one set of settings means the same in both', () => {
    expect(nativeEnv.size).toBeGreaterThan(10);
    expect([...nativeEnv].filter((n) => !SERVER_IMAGE_ENV.has(n))).toEqual([]);
  });

  it('runs the Temporal server image with its own entry point, on PostgreSQL, after the schemas', () => {
    const server = service('temporal');
    expect(server.entrypoint).toBeUndefined();
    expect(server.command).toBeUndefined();
    expect(dependsOn(server)).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    const e = env(server);
    expect(Object.keys(e).filter((n) => !SERVER_IMAGE_ENV.has(n))).toEqual([]);
    // What the native cluster sets too (test/harness/temporal-cluster.ts serverEnv); DB is fixed there (postgres12 in the file).
    expect(Object.keys(e).filter((n) => n !== 'DB' && !nativeEnv.has(n))).toEqual([]);
    expect(e).toEqual({
      DB: 'postgres12',
      DB_PORT: '5432',
      POSTGRES_SEEDS: 'postgresql',
      POSTGRES_USER: env(service('postgresql')).POSTGRES_USER,
      POSTGRES_PWD: env(service('postgresql')).POSTGRES_PASSWORD,
      // Every interface of the container; the entrypoint sets TEMPORAL_BROADCAST_ADDRESS to its address.
      BIND_ON_IP: '0.0.0.0',
      DYNAMIC_CONFIG_FILE_PATH: expect.any(String),
    });
    expect(published(server)).toEqual([{ ip: '127.0.0.1', host: '7233', container: '7233' }]);
    expect(server.healthcheck?.test).toEqual(['CMD', 'temporal', 'operator', 'cluster', 'health', '--address', '127.0.0.1:7233']);
  });

  it('mounts the repo\'s deploy/temporal/dynamicconfig.yaml, the file the native cluster runs with', () => {
    const server = service('temporal');
    const file = env(server).DYNAMIC_CONFIG_FILE_PATH!;
    const mount = mounts(server).find((m) => file.startsWith(`${m.target}/`));
    expect(mount, `no mount holds ${file}`).toBeDefined();
    expect(mount!.mode).toBe('ro');
    const onHost = path.join(root, mount!.source, path.relative(mount!.target, file));
    expect(onHost).toBe(path.join(TEMPORAL_CONFIG_DIR, 'dynamicconfig.yaml'));
    expect(existsSync(onHost)).toBe(true);
  });

  it('creates the workers\' namespace once the server is healthy, with the CLI of admin-tools', () => {
    const ns = service('temporal-namespace');
    expect(dependsOn(ns)).toEqual({ temporal: { condition: 'service_healthy' } });
    const lines = script(ns);
    const namespace = '"${TEMPORAL_NAMESPACE:-default}"';
    expect(lines).toContain(`temporal operator namespace describe --address temporal:7233 --namespace ${namespace} > /dev/null 2>&1 && exit 0`);
    expect(lines).toContain(`temporal operator namespace create --address temporal:7233 --namespace ${namespace} --retention "\${CD4ML_TEMPORAL_RETENTION:-7d}" && exit 0`);
    expect(lines.at(-1)).toBe('exit 1');
    // The same default namespace the workers connect to.
    for (const name of TEMPORAL_CLIENTS) expect(env(service(name)).TEMPORAL_NAMESPACE).toBe('${TEMPORAL_NAMESPACE:-default}');
  });

  it('runs the Web UI against the server, on :8233 like the dev server\'s', () => {
    const ui = service('temporal-ui');
    expect(dependsOn(ui)).toEqual({ temporal: { condition: 'service_healthy' } });
    // The UI server's documented variables (server/config/docker.yaml of temporalio/ui v2.42.1).
    expect(env(ui)).toEqual({
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_DEFAULT_NAMESPACE: '${TEMPORAL_NAMESPACE:-default}',
      TEMPORAL_CORS_ORIGINS: 'http://localhost:8233',
    });
    expect(published(ui)).toEqual([{ ip: '127.0.0.1', host: '8233', container: '8080' }]);
  });
});

describe('docker-compose.yml: the dev profile', () => {
  it('runs the pinned Temporal CLI dev server with its ports, a persistent database, and the name `temporal`', () => {
    const dev = service('temporal-dev');
    const command = words(dev.command);
    expect(command.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(command[command.indexOf('--ip') + 1]).toBe('0.0.0.0');
    const dbFile = command[command.indexOf('--db-filename') + 1]!;
    expect(mounts(dev).some((m) => dbFile.startsWith(`${m.target}/`))).toBe(true);
    expect(published(dev).map((p) => [p.host, p.container])).toEqual([['7233', '7233'], ['8233', '8233']]);
    expect(dev.networks).toEqual({ default: { aliases: ['temporal'] } });
    expect(dev.healthcheck?.test).toEqual(['CMD', 'temporal', 'operator', 'cluster', 'health', '--address', '127.0.0.1:7233']);
  });
});

describe('docker-compose.yml: the cd4ml services', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const context = (s: Service) => (typeof s.build === 'string' ? s.build : s.build?.context);

  it('the image they run is built from the repo\'s Dockerfile, which builds the JavaScript', () => {
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
    expect(dockerfile).toMatch(/RUN pnpm exec tsx scripts\/build.ts/);
    // The stage compose runs has node only: pnpm and tsx stay in the build stage.
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).not.toMatch(/pnpm|tsx/);
    expect(runtime).toMatch(/COPY --from=deps \/app \/app/);
    for (const name of [...WORKERS, 'serve', 'webhook']) expect(context(service(name)), name).toBe('.');
  });

  for (const [name, script, extra] of [
    ['control-worker', 'workers/src/control-worker.ts', []],
    ['location-worker', 'workers/src/location-worker.ts', ['--location', 'local']],
  ] as const) {
    it(`${name} runs ${script}, built, with the releases volume at CD4ML_STORE`, () => {
      const s = service(name);
      const command = words(s.command);
      expect(command.slice(0, 2)).toEqual(['node', builtFile(script)]);
      expect(command.slice(2)).toEqual([...extra]);
      expect(existsSync(path.join(root, script)), `${script} should exist`).toBe(true);
      expect(env(s).CD4ML_STORE).toBe('${CD4ML_STORE:-/releases}');
      expect(mounts(s)).toContainEqual({ source: 'releases', target: '/releases', mode: undefined });
    });
  }

  it('the workers and the gateway wait for whichever Temporal the profile runs, and need neither', () => {
    for (const name of TEMPORAL_CLIENTS) {
      expect(dependsOn(service(name)), name).toEqual({
        'temporal-namespace': { condition: 'service_completed_successfully', required: false },
        'temporal-dev': { condition: 'service_healthy', required: false },
      });
    }
  });

  it('serve serves the store\'s latest release on :8080, healthy when /v2/health/ready says so (node\'s fetch: the image has no curl)', () => {
    const serve = service('serve');
    const command = words(serve.command);
    expect(command.slice(0, 3)).toEqual(['node', builtFile('client/src/cli.ts'), 'serve']);
    const flag = (f: string) => command[command.indexOf(f) + 1];
    expect(flag('--store')).toBe('${CD4ML_STORE:-/releases}');
    expect(flag('--project')).toBe('${CD4ML_SERVE_PROJECT:-penguins}');
    expect(flag('--host')).toBe('0.0.0.0');
    const port = flag('--port')!;
    expect(published(serve)).toEqual([{ ip: undefined, host: '8080', container: port }]);
    // The same volume the workers publish to, read-only.
    expect(mounts(serve)).toContainEqual({ source: 'releases', target: '/releases', mode: 'ro' });
    expect(dependsOn(serve)).toEqual({});
    // The check runs in the image: node (FROM node:*-slim), and no curl or wget installed.
    expect(dockerfile).toMatch(/^FROM node:\d+-bookworm-slim$/m);
    expect(dockerfile).not.toMatch(/\b(curl|wget)\b/);
    const test = serve.healthcheck?.test as string[];
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(test[3]).toContain(`fetch('http://127.0.0.1:${port}${HEALTH_READY_PATH}')`);
    expect(test[3]).toMatch(/process\.exit\(r\.ok \? 0 : 1\), \(\) => process\.exit\(1\)\)$/);
  });

  it('runs the webhook gateway from the CLI on :8787 with its secret from the environment', () => {
    const webhook = service('webhook');
    const command = words(webhook.command);
    expect(command.slice(0, 3)).toEqual(['node', builtFile('client/src/cli.ts'), 'webhook']);
    expect(command[command.indexOf('--port') + 1]).toBe('8787');
    expect(command[command.indexOf('--project') + 1]).toMatch(/^\$\{CD4ML_WEBHOOK_PROJECT/);
    expect(webhook.ports).toEqual(['8787:8787']);
    expect(env(webhook).CD4ML_WEBHOOK_SECRET).toBe('${CD4ML_WEBHOOK_SECRET:-}');
  });
});

describe('docker-compose.yml: Temporal connection settings', () => {
  /** `#   TEMPORAL_X   ...` lines of the header comment. */
  const documented = [...text.matchAll(/^#\s+(TEMPORAL_[A-Z0-9_]+)\s{2,}/gm)].map((m) => m[1]!);

  it('the header documents exactly the variables contracts/src/temporal-env.ts reads, in its order', () => {
    expect(documented).toEqual([...TEMPORAL_ENV_VARS]);
  });

  it('every Temporal client gets each of them from the environment, and the default address is the in-network `temporal`', () => {
    for (const name of TEMPORAL_CLIENTS) {
      const e = env(service(name));
      const temporal = Object.keys(e).filter((k) => k.startsWith('TEMPORAL_'));
      expect(temporal, name).toEqual([...TEMPORAL_ENV_VARS]);
      for (const k of TEMPORAL_ENV_VARS) expect(e[k], `${name} ${k}`).toMatch(new RegExp(`^\\$\\{${k}:-`));
      expect(e.TEMPORAL_ADDRESS).toBe('${TEMPORAL_ADDRESS:-temporal:7233}');
    }
    // `temporal` is the cluster's server and the dev server's alias alike.
    expect(services.temporal).toBeDefined();
    expect(service('temporal-dev').networks).toEqual({ default: { aliases: ['temporal'] } });
  });

  it('mounts the TLS folder read-only where the documented example paths point, and keeps it out of git and the image', () => {
    const example = /TEMPORAL_TLS_CLIENT_CERT_PATH=(\/\S+)\/client\.pem/.exec(text)?.[1];
    expect(example).toBeDefined();
    for (const name of TEMPORAL_CLIENTS) {
      const tls = mounts(service(name)).find((m) => m.target === example);
      expect(tls, name).toEqual({ source: '${CD4ML_TEMPORAL_TLS_DIR:-./deploy/temporal-tls}', target: example, mode: 'ro' });
    }
    expect(readFileSync(path.join(root, 'deploy/temporal-tls/.gitignore'), 'utf8')).toMatch(/^\*$/m);
    expect(readFileSync(path.join(root, '.dockerignore'), 'utf8')).toMatch(/^deploy\/temporal-tls$/m);
  });
});

describe('docker-compose.yml: worker versioning', () => {
  it('hands the control worker the versioning settings it reads, each documented in the header', () => {
    const source = readFileSync(path.join(root, 'workers/src/control-worker.ts'), 'utf8');
    const header = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    const versioning = ['CD4ML_BUILD_ID', 'CD4ML_MAKE_CURRENT', 'CD4ML_WORKER_VERSIONING'];
    const e = env(service('control-worker'));
    for (const k of versioning) {
      expect(source, `control-worker.ts reads ${k}`).toContain(`process.env.${k}`);
      expect(e[k], k).toMatch(new RegExp(`^\\$\\{${k}:-`));
      expect(header).toMatch(new RegExp(`^#\\s+${k}\\s{2,}\\S`, 'm'));
    }
  });
});
