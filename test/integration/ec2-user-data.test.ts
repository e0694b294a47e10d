import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { locationTaskQueue } from '@cd4ml/contracts';
import { DevServer } from '../harness/dev-server.ts';
import { TlsFronts } from '../harness/tls-proxy.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { FakeImds } from '../fakes/imds.ts';

const run = promisify(execFile);
const UNIT = 'cd4ml-location-worker.service';

// Stand-ins for what an instance has and a test machine must not touch: each records its
// call. systemctl also plays systemd for `enable --now`: it reads the unit file the script
// wrote and starts its ExecStart in the unit's WorkingDirectory with only the unit's
// EnvironmentFile= variables (and systemd's PATH), in a session of its own, so the
// location worker the script set up really runs.
const RECORD = '#!/bin/bash\necho "$(basename "$0") $*" >>"$STUB_LOG"\n';
const STUBS: Record<string, string> = {
  'apt-get': `${RECORD}exit 0\n`,
  dnf: `${RECORD}exit 0\n`,
  yum: `${RECORD}exit 0\n`,
  pip: `${RECORD}exit 0\n`,
  pip3: `${RECORD}exit 0\n`,
  sudo: `${RECORD}exec "$@"\n`,
  // The AWS CLI as the instance role would answer `ssm get-parameter --with-decryption --query Parameter.Value --output text`.
  // With STUB_SSM_DIR, each parameter's value is the file named for it (slashes as underscores).
  aws: `${RECORD}[ "$1 $2" = "ssm get-parameter" ] || exit 254
f="\${STUB_SSM_DIR:-/nonexistent}/$(printf %s "$4" | tr / _)"
if [ -f "$f" ]; then cat "$f"; elif [ -n "\${STUB_SSM_VALUE:-}" ]; then printf '%s\\n' "$STUB_SSM_VALUE"; else echo "ParameterNotFound: $4" >&2; exit 254; fi
`,
  // A clone of the source, standing in for `git clone --depth 1 <source> /opt/cd4ml`: the folder becomes this checkout.
  git: `${RECORD}[ "$1" = clone ] && ln -s "$STUB_CLONE_OF" "\${@: -1}" && exit 0\nexit 1\n`,
  systemctl: `${RECORD}
set -euo pipefail
[ "$1" = enable ] || exit 0
shift
now=""; units=()
for a in "$@"; do case "$a" in --now) now=1 ;; *) units+=("$a") ;; esac; done
[ -n "$now" ] && [ -z "\${STUB_SYSTEMCTL_NO_START:-}" ] || exit 0
for u in "\${units[@]}"; do
  f="$CD4ML_USER_DATA_ROOT/etc/systemd/system/$u"
  [ -f "$f" ] || { echo "systemctl stub: Unit $u not found" >&2; exit 5; }
  wd="$(sed -n 's/^WorkingDirectory=//p' "$f")"
  exec_start="$(sed -n 's/^ExecStart=//p' "$f")"
  vars=()
  while IFS= read -r ef; do
    optional=""; case "$ef" in -*) optional=1; ef="\${ef#-}" ;; esac
    if [ -f "$ef" ]; then
      while IFS= read -r line; do [ -n "$line" ] && vars+=("$line"); done <"$ef"
    elif [ -z "$optional" ]; then echo "systemctl stub: $ef missing" >&2; exit 1; fi
  done < <(sed -n 's/^EnvironmentFile=//p' "$f")
  cd "$wd"
  setsid env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "\${vars[@]}" $exec_start >"$STUB_DIR/$u.log" 2>&1 </dev/null &
  echo $! >"$STUB_DIR/$u.pid"
done
`,
};

interface Instance {
  dir: string;
  root: string;
  stubLog: string;
  /** The process group of the worker the systemctl stub started. */
  workerPid?: number;
}

/**
 * A throwaway folder standing in for an instance's /: /opt/cd4ml is this checkout, as on an AMI
 * that has it, or (`withCd4ml: false`) missing, for the script to clone.
 */
async function throwawayInstance({ withCd4ml = true } = {}): Promise<Instance> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-user-data-'));
  const root = path.join(dir, 'root');
  await mkdir(path.join(root, 'opt'), { recursive: true });
  if (withCd4ml) await symlink(path.resolve(REPO_ROOT), path.join(root, 'opt', 'cd4ml'));
  await mkdir(path.join(dir, 'stubs'));
  for (const [name, text] of Object.entries(STUBS)) {
    await writeFile(path.join(dir, 'stubs', name), text);
    await chmod(path.join(dir, 'stubs', name), 0o755);
  }
  return { dir, root, stubLog: path.join(dir, 'calls.log') };
}

/** `cd4ml ec2 user-data` as a person runs it: the script on stdout, notes on stderr. */
async function cd4mlUserData(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return run(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['client/src/cli.ts', 'ec2', 'user-data', ...args], {
    cwd: REPO_ROOT, env: { PATH: process.env.PATH!, HOME: os.homedir(), ...env }, maxBuffer: 1 << 20,
  });
}

/** Runs the script as cloud-init would (bash, as root), with the stubs first on PATH and the test's / and IMDS. */
async function runUserData(inst: Instance, script: string, imds: FakeImds, env: Record<string, string> = {}): Promise<void> {
  const file = path.join(inst.dir, 'user-data.sh');
  await writeFile(file, script, { mode: 0o700 });
  // pnpm where bootstrap.sh looks for it, as on an AMI with Node and pnpm installed.
  const pnpmDir = path.dirname((await run('bash', ['-c', 'command -v pnpm'])).stdout.trim());
  const PATH = [path.join(inst.dir, 'stubs'), pnpmDir, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':');
  try {
    await run('bash', [file], {
      cwd: inst.dir,
      env: {
        PATH, HOME: os.homedir(), CD4ML_USER_DATA_ROOT: inst.root, CD4ML_IMDS_ENDPOINT: imds.endpoint,
        STUB_LOG: inst.stubLog, STUB_DIR: inst.dir, STUB_CLONE_OF: path.resolve(REPO_ROOT), ...env,
      },
      maxBuffer: 1 << 22,
      timeout: 180_000,
    });
  } finally {
    const pid = await readFile(path.join(inst.dir, `${UNIT}.pid`), 'utf8').catch(() => '');
    if (pid.trim()) inst.workerPid = Number(pid);
  }
}

async function stopInstance(inst: Instance | undefined): Promise<void> {
  if (!inst) return;
  if (inst.workerPid) {
    try {
      process.kill(-inst.workerPid, 'SIGTERM');
      for (let i = 0; i < 100; i++) {
        process.kill(-inst.workerPid, 0);
        await sleep(100);
      }
      process.kill(-inst.workerPid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await rm(inst.dir, { recursive: true, force: true });
}

describe('EC2 user data: the rendered script on a throwaway instance (fake IMDSv2, real Temporal dev server)', () => {
  let dev: DevServer;
  let imds: FakeImds;
  let config: string;
  const instances: Instance[] = [];

  beforeAll(async () => {
    dev = await DevServer.start({ searchAttributes: false });
    imds = await FakeImds.start();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-user-data-config-'));
    config = path.join(dir, 'cd4ml.yaml');
    await writeFile(config, [
      'project: penguins',
      'locations:',
      '  gpu: {provider: ec2, region: eu-west-1, launchTemplate: cd4ml-gpu, instanceTypes: [g5.xlarge], userData: template}',
      '',
    ].join('\n'));
  });
  afterAll(async () => {
    for (const inst of instances) await stopInstance(inst);
    await imds?.stop();
    await dev?.stop();
    if (config) await rm(path.dirname(config), { recursive: true, force: true });
  });

  async function pollersOf(queue: string): Promise<{ identity: string; lastAccessMs: number }[]> {
    // TASK_QUEUE_KIND_NORMAL = 1, TASK_QUEUE_TYPE_ACTIVITY = 2 (temporal.api.enums.v1): the queue the worker's activities poll.
    const res = await dev.env.client.workflowService.describeTaskQueue({
      namespace: 'default', taskQueue: { name: queue, kind: 1 }, taskQueueType: 2,
    });
    return (res.pollers ?? []).map((p) => ({ identity: p.identity ?? '', lastAccessMs: tsToMs(p.lastAccessTime) }));
  }

  it('cd4ml ec2 user-data renders a script whose worker polls cd4ml-location-<location>-<instance id>, read from IMDSv2', async () => {
    const { stdout: script, stderr } = await cd4mlUserData(['--config', config, '--location', 'gpu'], {
      TEMPORAL_ADDRESS: dev.address, TEMPORAL_NAMESPACE: 'default',
    });
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).not.toMatch(/\{\{\w+\}\}/);
    // One script for every launch of the template: the instance id is found on the instance.
    expect(script).not.toContain(imds.instanceId);
    expect(stderr).toContain('an instance cannot reach that'); // loopback address: said, not refused

    const inst = await throwawayInstance();
    instances.push(inst);
    const startedAt = Date.now();
    await runUserData(inst, script, imds);

    const queue = locationTaskQueue('gpu', imds.instanceId);
    const env = await readFile(path.join(inst.root, 'etc/cd4ml/location.env'), 'utf8');
    expect(env).toContain(`CD4ML_TASK_QUEUE=${queue}\n`);
    expect(env).toContain(`CD4ML_WORKER_HOST=${imds.instanceId}\n`);
    expect(env).toContain(`TEMPORAL_ADDRESS=${dev.address}\n`);
    expect(env).not.toMatch(/API_KEY/);

    // IMDSv2: a token first, then the instance id with it; nothing asked without a token.
    expect(imds.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'PUT /latest/api/token 200', 'GET /latest/meta-data/instance-id 200',
    ]);
    expect(imds.requests[1]!.tokenValid).toBe(true);

    const calls = (await readFile(inst.stubLog, 'utf8')).split('\n').filter(Boolean);
    expect(calls).toContain('systemctl daemon-reload');
    expect(calls).toContain(`systemctl enable --now ${UNIT}`);
    expect(calls.filter((c) => c.startsWith('git '))).toEqual([]); // the AMI has /opt/cd4ml
    const unit = await readFile(path.join(inst.root, 'etc/systemd/system', UNIT), 'utf8');
    expect(unit).toContain(`EnvironmentFile=-${inst.root}/etc/cd4ml/secrets.env`);

    // The worker the unit runs polls the instance's own queue, under the instance's name.
    const deadline = Date.now() + 120_000;
    let pollers: { identity: string; lastAccessMs: number }[] = [];
    while (Date.now() < deadline) {
      pollers = (await pollersOf(queue)).filter((p) => p.lastAccessMs >= startedAt - 1000);
      if (pollers.length > 0) break;
      await sleep(500);
    }
    const log = await readFile(path.join(inst.dir, `${UNIT}.log`), 'utf8').catch(() => '(no log)');
    expect(pollers, `no poller on ${queue}; worker log:\n${log}`).not.toEqual([]);
    expect(pollers[0]!.identity).toMatch(new RegExp(`^\\d+@${imds.instanceId}:${inst.root}/var/lib/cd4ml/locations/gpu$`));
    // Not the location's shared queue: a leaked instance cannot take another training's steps.
    expect(await pollersOf(locationTaskQueue('gpu'))).toEqual([]);
  });

  it('the Temporal API key reaches the instance from SSM with its role, never through user data', async () => {
    const key = 'tcld-test-key-0123456789';
    const { stdout: script, stderr } = await cd4mlUserData(
      ['--config', config, '--location', 'gpu', '--api-key-ssm-parameter', '/cd4ml/temporal-api-key'],
      { TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_NAMESPACE: 'ml', TEMPORAL_API_KEY: key },
    );
    expect(script).not.toContain(key);
    expect(stderr).not.toContain(key);
    expect(script).toContain("TEMPORAL_API_KEY_SSM_PARAMETER='/cd4ml/temporal-api-key'");

    const inst = await throwawayInstance();
    instances.push(inst);
    await runUserData(inst, script, imds, { STUB_SSM_VALUE: key, STUB_SYSTEMCTL_NO_START: '1' });
    const secrets = path.join(inst.root, 'etc/cd4ml/secrets.env');
    expect(await readFile(secrets, 'utf8')).toBe(`TEMPORAL_API_KEY=${key}\n`);
    expect((await stat(secrets)).mode & 0o777).toBe(0o600);
    const calls = await readFile(inst.stubLog, 'utf8');
    expect(calls).toContain('aws ssm get-parameter --name /cd4ml/temporal-api-key --with-decryption --query Parameter.Value --output text');
    expect(await readFile(path.join(inst.root, 'etc/cd4ml/location.env'), 'utf8')).not.toContain(key);
  });

  it('mTLS with a private CA: the instance gets the CA and server name in user data, its client key from SSM, and its worker polls through TLS', async () => {
    const fronts = await TlsFronts.start(dev.address);
    try {
      const { certs } = fronts;
      const [caPem, certPem, keyPem] = await Promise.all([readFile(certs.ca, 'utf8'), readFile(certs.client.cert, 'utf8'), readFile(certs.client.key, 'utf8')]);
      const { stdout: script, stderr } = await cd4mlUserData(
        ['--config', config, '--location', 'gpu', '--tls-client-cert-ssm-parameter', '/cd4ml/tls/cert', '--tls-client-key-ssm-parameter', '/cd4ml/tls/key'],
        { TEMPORAL_ADDRESS: fronts.mtls.address, TEMPORAL_NAMESPACE: 'default', ...fronts.ca, ...fronts.pair(certs.client), TEMPORAL_TLS_SERVER_NAME: 'localhost' },
      );
      // Public settings in the script; nothing of the control machine's key or certificate, nor their paths.
      const keyBody = keyPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
      expect(script.replace(/\s/g, '')).not.toContain(keyBody);
      expect(script).not.toContain(Buffer.from(keyPem).toString('base64').slice(0, 40));
      expect(script).not.toContain(certs.client.key);
      expect(script).not.toContain(certs.client.cert);
      expect(script).toContain(`TEMPORAL_TLS_SERVER_CA_BASE64='${Buffer.from(caPem).toString('base64')}'`);
      expect(script).toContain("TEMPORAL_TLS='true'");
      expect(script).toContain("TEMPORAL_TLS_SERVER_NAME='localhost'");
      expect(stderr).not.toContain('TEMPORAL_TLS_CLIENT_CERT_PATH is set here');

      const inst = await throwawayInstance();
      instances.push(inst);
      const ssm = path.join(inst.dir, 'ssm');
      await mkdir(ssm);
      await writeFile(path.join(ssm, '_cd4ml_tls_cert'), certPem);
      await writeFile(path.join(ssm, '_cd4ml_tls_key'), keyPem);
      const startedAt = Date.now();
      await runUserData(inst, script, imds, { STUB_SSM_DIR: ssm });

      const tls = path.join(inst.root, 'etc/cd4ml/tls');
      expect(await readFile(path.join(tls, 'server-ca.pem'), 'utf8')).toBe(caPem);
      expect((await readFile(path.join(tls, 'client.key'), 'utf8')).trim()).toBe(keyPem.trim());
      expect((await stat(path.join(tls, 'client.key'))).mode & 0o777).toBe(0o600);
      const env = await readFile(path.join(inst.root, 'etc/cd4ml/location.env'), 'utf8');
      expect(env).toContain(`TEMPORAL_TLS_CLIENT_KEY_PATH=${tls}/client.key\n`);
      expect(env).toContain(`TEMPORAL_TLS_SERVER_CA_CERT_PATH=${tls}/server-ca.pem\n`);
      expect(env).not.toContain('PRIVATE KEY');
      const calls = await readFile(inst.stubLog, 'utf8');
      expect(calls).toContain('aws ssm get-parameter --name /cd4ml/tls/key --with-decryption --query Parameter.Value --output text');

      // The worker reaches Temporal only through the mTLS front: polling proves the settings work on the instance.
      const queue = locationTaskQueue('gpu', imds.instanceId);
      const deadline = Date.now() + 120_000;
      let pollers: { identity: string; lastAccessMs: number }[] = [];
      while (Date.now() < deadline && pollers.length === 0) {
        pollers = (await pollersOf(queue)).filter((p) => p.lastAccessMs >= startedAt - 1000);
        if (!pollers.length) await sleep(500);
      }
      const log = await readFile(path.join(inst.dir, `${UNIT}.log`), 'utf8').catch(() => '(no log)');
      expect(pollers, `no poller on ${queue}; worker log:\n${log}`).not.toEqual([]);
      await stopInstance(inst);
      instances.splice(instances.indexOf(inst), 1);
    } finally {
      await fronts.stop();
    }
  });

  it('with mTLS or an API key and no secret on the instance, the boot stops before the service, saying where to put it', async () => {
    const fronts = await TlsFronts.start(dev.address);
    try {
      const mtls = (await cd4mlUserData(['--config', config, '--location', 'gpu'],
        { TEMPORAL_ADDRESS: fronts.mtls.address, ...fronts.ca, ...fronts.pair(fronts.certs.client) }));
      expect(mtls.stderr).toContain('TEMPORAL_TLS_CLIENT_CERT_PATH is set here (mTLS)');
      const inst = await throwawayInstance();
      instances.push(inst);
      const failed = await runUserData(inst, mtls.stdout, imds).then(() => null, (err: { code?: number; stderr?: string }) => err);
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(`cd4ml: Temporal asks for a client certificate (mTLS) and ${inst.root}/etc/cd4ml/tls/client.pem is missing`);
      expect(await readFile(inst.stubLog, 'utf8').catch(() => '')).not.toContain('systemctl');

      const key = (await cd4mlUserData(['--config', config, '--location', 'gpu'], { TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_API_KEY: 'tcld-not-here' })).stdout;
      const inst2 = await throwawayInstance();
      instances.push(inst2);
      const failed2 = await runUserData(inst2, key, imds).then(() => null, (err: { code?: number; stderr?: string }) => err);
      expect(failed2?.code).toBe(1);
      expect(failed2?.stderr).toContain(`cd4ml: Temporal needs an API key and ${inst2.root}/etc/cd4ml/secrets.env has none`);
      expect(await readFile(inst2.stubLog, 'utf8').catch(() => '')).not.toContain('systemctl');
    } finally {
      await fronts.stop();
    }
  });

  it('an AMI without /opt/cd4ml clones it from --source, then bootstraps it', async () => {
    const source = 'https://git.example.com/team/cd4ml.git';
    const script = (await cd4mlUserData(['--config', config, '--location', 'gpu', '--source', source], { TEMPORAL_ADDRESS: dev.address })).stdout;
    const inst = await throwawayInstance({ withCd4ml: false });
    instances.push(inst);
    await runUserData(inst, script, imds, { STUB_SYSTEMCTL_NO_START: '1' });
    const calls = (await readFile(inst.stubLog, 'utf8')).split('\n').filter(Boolean);
    expect(calls[0]).toBe(`git clone --depth 1 ${source} ${inst.root}/opt/cd4ml`);
    expect(calls).toContain(`systemctl enable --now ${UNIT}`);
  });

  it('without an instance id from the metadata service the script stops before installing anything, and says why', async () => {
    const script = (await cd4mlUserData(['--config', config, '--location', 'gpu'], { TEMPORAL_ADDRESS: dev.address })).stdout;
    const broken = await FakeImds.start();
    broken.metadata.delete('instance-id');
    const inst = await throwawayInstance();
    instances.push(inst);
    try {
      const failed = await runUserData(inst, script, broken).then(() => null, (err: { code?: number; stderr?: string }) => err);
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(`cd4ml: could not read the instance id from ${broken.endpoint}`);
      expect(broken.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'PUT /latest/api/token 200', 'GET /latest/meta-data/instance-id 404',
      ]);
      expect(await readFile(inst.stubLog, 'utf8').catch(() => '')).toBe('');
      await expect(stat(path.join(inst.root, 'etc/cd4ml/location.env'))).rejects.toThrow(/ENOENT/);
    } finally {
      await broken.stop();
    }
  });
});
