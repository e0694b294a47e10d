import path from 'node:path';
import { runProcess, type RunOptions, type RunResult } from '../process/run-process.ts';

/** The Python venv holding dvc and the project's libraries; its bin goes first on PATH for the stages. */
export interface DvcEnv {
  venv: string;
}

export function dvcEnv({ venv }: DvcEnv): Record<string, string> {
  return {
    PATH: `${path.join(venv, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    VIRTUAL_ENV: venv,
    // No analytics or update checks: they are network calls that can hang offline.
    DVC_NO_ANALYTICS: '1',
    DVC_NO_UPDATE_CHECK: '1',
    PYTHONUNBUFFERED: '1',
  };
}

export function dvc(env: DvcEnv, args: string[], opts: Omit<RunOptions, 'env'>): Promise<RunResult> {
  return runProcess(path.join(env.venv, 'bin', 'dvc'), args, { ...opts, env: dvcEnv(env) });
}
