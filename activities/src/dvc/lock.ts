import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';

interface LockOut { path: string; md5?: string; hash?: string }
interface LockFile { stages?: Record<string, { deps?: LockOut[]; outs?: LockOut[] }> }
interface DvcFile { outs?: LockOut[] }

/**
 * Lineage of a training: the content hash of every DVC-tracked input and
 * output (from `.dvc` files and dvc.lock), keyed by workspace path.
 */
export async function dataHashes(dir: string, dvcFiles: string[]): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const file of dvcFiles) Object.assign(hashes, dvcFileHashes(file, await readFile(path.join(dir, file), 'utf8')));
  let lock: LockFile | null = null;
  try {
    lock = parse(await readFile(path.join(dir, 'dvc.lock'), 'utf8')) as LockFile | null;
  } catch {
    return hashes;
  }
  for (const stage of Object.values(lock?.stages ?? {})) {
    for (const entry of [...(stage.deps ?? []), ...(stage.outs ?? [])]) {
      if (entry.md5 && !entry.path.endsWith('.py')) hashes[entry.path] = entry.md5;
    }
  }
  return hashes;
}

/** The outputs one `.dvc` file tracks (`file` relative to the DVC project), keyed by workspace path. */
export function dvcFileHashes(file: string, text: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  const parsed = parse(text) as DvcFile | null;
  for (const out of parsed?.outs ?? []) {
    if (out.md5) hashes[path.posix.join(path.posix.dirname(file), out.path)] = out.md5;
  }
  return hashes;
}
