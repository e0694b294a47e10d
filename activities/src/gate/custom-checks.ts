import { createHash } from 'node:crypto';
import { CustomCheckAnswer, durationMs, type Check, type CustomCheckConfig } from '@cd4ml/contracts';
import { containerRemoveArgs, containerRunArgs, type TrainingImage } from '../image/container-run.ts';
import { capture, ProcessFailed, runProcess } from '../process/run-process.ts';
import { startHeartbeats } from '../heartbeat.ts';
import { formatNumber as fmt } from '@cd4ml/onnx';

/** A check's detail travels through workflow history: keep it short. */
const MAX_DETAIL = 1500;
const TAIL = 8;

export interface CustomCheckRun {
  checks: CustomCheckConfig[];
  /** The DVC project folder in the checkout. */
  dir: string;
  /** The checkout (mounted into the image at the same path). */
  checkout: string;
  /** PATH and friends of the location's venv, when there is no image. */
  env: Record<string, string>;
  image?: TrainingImage;
}

const clip = (text: string) => (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text);
const tailOf = (lines: string[]) => (lines.length ? `; last output:\n${lines.slice(-TAIL).join('\n')}` : '; it printed nothing');

/** The answer is the whole stdout as JSON, or else its last line that is a JSON object. */
function answerOf(stdout: string): CustomCheckAnswer | string {
  const candidates = [stdout.trim(), ...stdout.trim().split(/\r?\n/).reverse().filter((l) => l.trim().startsWith('{'))];
  for (const text of candidates) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue;
    }
    const parsed = CustomCheckAnswer.safeParse(value);
    if (parsed.success) return parsed.data;
    return `its JSON answer is not {"passed": true|false, "detail": "...", "figures": {"name": number}}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`).join('; ')}`;
  }
  return 'it printed no JSON answer (expected a line like {"passed": true, "detail": "..."})';
}

function checkOf(name: string, answer: CustomCheckAnswer): Check {
  const figures = Object.entries(answer.figures ?? {}).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
  return { name, passed: answer.passed, detail: clip([answer.detail, figures && `(${figures})`].filter(Boolean).join(' ') || (answer.passed ? 'passed' : 'failed')) };
}

/** How the command starts: `sh -c` in the project folder, inside the training image when there is one. */
function commandFor(run: CustomCheckRun, check: CustomCheckConfig): { file: string; args: string[]; env: Record<string, string>; cleanup?: () => Promise<void> } {
  if (!run.image) return { file: 'sh', args: ['-c', check.run], env: run.env };
  const engine = run.image.run.engine;
  const name = `cd4ml-check-${createHash('sha256').update(`${run.checkout}\0${check.name}`).digest('hex').slice(0, 12)}`;
  return {
    file: engine,
    args: containerRunArgs({
      image: run.image, name, checkout: run.checkout, workdir: run.dir, env: { PYTHONUNBUFFERED: '1' }, command: ['sh', '-c', check.run],
      user: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    }),
    env: {},
    cleanup: () => capture(engine, containerRemoveArgs(name), run.dir).then(() => undefined, () => undefined),
  };
}

/**
 * The project's own checks (`gate.checks`), run after `dvc repro` in the checkout.
 * A check that crashes, times out or answers garbage is a failed check with its
 * output's tail: never a failed training step.
 */
export async function runCustomChecks(run: CustomCheckRun): Promise<Check[]> {
  const results: Check[] = [];
  const hb = startHeartbeats({ stage: 'custom-checks', check: '' });
  try {
    for (const check of run.checks) {
      const name = `custom:${check.name}`;
      hb.update({ check: check.name });
      const command = commandFor(run, check);
      try {
        const { stdout } = await runProcess(command.file, command.args, {
          cwd: run.dir, env: command.env, signal: hb.signal, timeoutMs: durationMs(check.timeout),
        });
        const answer = answerOf(stdout);
        results.push(typeof answer === 'string'
          ? { name, passed: false, detail: clip(`\`${check.run}\` exited 0 but ${answer}${tailOf(stdout.trim().split(/\r?\n/))}`) }
          : checkOf(name, answer));
      } catch (err) {
        if (hb.signal.aborted) throw err;
        // A check may exit non-zero to say it failed, and still answer in JSON.
        const answer = err instanceof ProcessFailed && err.exitCode !== undefined ? answerOf(err.tail.join('\n')) : null;
        if (answer && typeof answer !== 'string') {
          results.push(checkOf(name, answer));
          continue;
        }
        const detail = err instanceof ProcessFailed
          ? `\`${check.run}\` ${err.exitCode === undefined ? `did not finish within ${check.timeout}` : `exited with ${err.exitCode}`}${tailOf(err.tail)}`
          : `\`${check.run}\` could not run: ${(err as Error).message}`;
        results.push({ name, passed: false, detail: clip(detail) });
      } finally {
        await command.cleanup?.();
      }
    }
    return results;
  } finally {
    hb.stop();
  }
}
