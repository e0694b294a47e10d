import { execa, type ResultPromise } from 'execa';

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Called for each output line (stdout and stderr, interleaved). */
  onLine?: (line: string) => void;
  /** Aborting kills the whole process group (dvc spawns python children). */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** A file to record the process group id in, so a restarted worker can kill an orphan. */
  pidFile?: string;
  /** How long the group has after SIGTERM before SIGKILL (default 5 s). */
  killAfterMs?: number;
}

export interface RunResult {
  exitCode: number;
  tail: string[];
  stdout: string;
}

export class ProcessFailed extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly tail: string[],
    readonly cause?: unknown,
  ) {
    super(`${command} ${exitCode === undefined ? 'did not finish' : `exited with ${exitCode}`}\n${tail.join('\n')}`);
    this.name = 'ProcessFailed';
  }
}

const TAIL_LINES = 30;

/**
 * Runs a command in its own process group. On abort or timeout the whole group
 * gets SIGTERM, then SIGKILL 5 s later: killing only the direct child would
 * leave `dvc repro`'s python stages running.
 */
export async function runProcess(file: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const { writeFile, rm } = await import('node:fs/promises');
  const tail: string[] = [];
  const stdoutChunks: string[] = [];
  const child: ResultPromise = execa(file, args, {
    cwd: opts.cwd,
    env: { ...opts.env },
    extendEnv: true,
    detached: true,
    reject: false,
    stdin: 'ignore',
    buffer: false,
  });
  const pid = child.pid;
  if (pid !== undefined && opts.pidFile) await writeFile(opts.pidFile, String(pid));

  const killGroup = (sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      /* already gone */
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = () => {
    killGroup('SIGTERM');
    killTimer ??= setTimeout(() => killGroup('SIGKILL'), opts.killAfterMs ?? 5000);
  };
  const onAbort = () => terminate();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = opts.timeoutMs ? setTimeout(terminate, opts.timeoutMs) : undefined;

  let pending = '';
  const onData = (chunk: Buffer, isStdout: boolean) => {
    const text = chunk.toString('utf8');
    if (isStdout) stdoutChunks.push(text);
    pending += text;
    const lines = pending.split(/\r?\n|\r/);
    pending = lines.pop() ?? '';
    for (const line of lines) pushLine(line);
  };
  const pushLine = (line: string) => {
    if (!line.trim()) return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    opts.onLine?.(line);
  };
  child.stdout?.on('data', (c: Buffer) => onData(c, true));
  child.stderr?.on('data', (c: Buffer) => onData(c, false));

  try {
    const result = await child;
    if (pending) pushLine(pending);
    const command = `${file} ${args.join(' ')}`;
    // The activity's abort reason is Temporal's CancelledFailure: rethrown, the activity reports "cancelled".
    if (opts.signal?.aborted) throw opts.signal.reason ?? new ProcessFailed(command, undefined, [...tail, '(cancelled)']);
    if (result.exitCode !== 0) throw new ProcessFailed(command, result.exitCode, tail);
    return { exitCode: 0, tail, stdout: stdoutChunks.join('') };
  } finally {
    // The group may still hold children that ignored SIGTERM or outlived the leader.
    if (opts.signal?.aborted) killGroup('SIGKILL');
    if (timer) clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (opts.pidFile) await rm(opts.pidFile, { force: true });
  }
}

/** Kills a process group recorded by an earlier, crashed run of this worker. */
export async function killOrphan(pidFile: string): Promise<boolean> {
  const { readFile, rm } = await import('node:fs/promises');
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return false;
  }
  await rm(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(-pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** Short runs (git plumbing): stdout trimmed, failures as ProcessFailed. */
export async function capture(file: string, args: string[], cwd: string, env?: Record<string, string>): Promise<string> {
  const r = await execa(file, args, { cwd, env, extendEnv: true, reject: false, stdin: 'ignore', timeout: 120_000 });
  if (r.exitCode !== 0) {
    const tail = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-TAIL_LINES);
    throw new ProcessFailed(`${file} ${args.join(' ')}`, r.exitCode, tail);
  }
  return r.stdout.trim();
}
