import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';

/**
 * Polls `probe` until it answers true. A probe that throws fails at once (the process it waits
 * for has exited, say); a deadline passed fails too. Either way the error carries the last
 * lines of the log, which is where the reason is.
 */
export async function waitFor(what: string, logFile: string, probe: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: Error | undefined;
    try {
      if (await probe()) return;
    } catch (err) {
      failure = err as Error;
    }
    if (failure || Date.now() > deadline) {
      throw new Error(`${failure ? failure.message : `timed out after ${timeoutMs / 1000} s`} waiting for ${what}; last lines of ${logFile}:\n${await logTail(logFile)}`);
    }
    await sleep(everyMs);
  }
}

/** The server logs JSON lines with long stack traces: the start of each line says enough. */
export async function logTail(logFile: string, lines = 20): Promise<string> {
  return (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-lines).map((l) => l.slice(0, 600)).join('\n');
}

/** Throws when the child has exited: a probe's first line, so a dead server fails the wait at once. */
export function assertRunning(child: ChildProcess, name: string): void {
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode})`);
}

/**
 * Whether a Temporal frontend answers: gRPC health SERVING and, when given, the namespace
 * described (it comes up with the frontend, or after it on a restart). Never throws.
 */
export async function temporalAnswers(address: string, namespace?: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 }).catch(() => undefined);
  if (!connection) return false;
  try {
    const { status } = await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
    if (status !== 1) return false; // 1 = SERVING
    if (namespace) await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}
