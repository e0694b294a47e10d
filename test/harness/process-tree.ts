import { readdirSync, readFileSync } from 'node:fs';

/** Sends a signal, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Linux /proc/<pid>/stat: "pid (comm) state ppid ...". */
function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Neither dead nor a zombie (an orphan's zombie waits for whatever reaps orphans here). */
export function alive(pid: number): boolean {
  const st = statOf(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** Every process below `root`, from /proc (sessions of their own included, unlike a process group). */
export function descendantsOf(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = statOf(Number(name));
    if (st) parents.set(st.ppid, [...(parents.get(st.ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const kid of parents.get(pid) ?? []) {
      out.push(kid);
      walk(kid);
    }
  };
  walk(root);
  return out;
}
