import { cleanContextPath } from './ignore-patterns.ts';

/**
 * The context paths a Dockerfile reads: the sources of COPY and ADD (and of
 * RUN --mount=type=bind), as written. `wholeContext` is set when a source
 * cannot be known without building (a $variable in it), so the caller hashes
 * everything rather than risk missing a file.
 */
export interface DockerfileSources {
  sources: string[];
  wholeContext: boolean;
}

/** Sources that are not in the context: another stage or image (--from), a URL, a heredoc. */
const REMOTE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@)/i;

export function dockerfileSources(text: string): DockerfileSources {
  const sources: string[] = [];
  let wholeContext = false;
  const add = (source: string) => {
    if (source.includes('$')) wholeContext = true;
    else sources.push(cleanContextPath(source) || '.');
  };

  for (const { instruction, args } of instructions(text)) {
    if (instruction === 'COPY' || instruction === 'ADD') {
      const { flags, rest } = splitFlags(args);
      if (flags.some((f) => f.startsWith('--from='))) continue;
      const words = rest.startsWith('[') ? jsonWords(rest) : rest.split(/\s+/).filter(Boolean);
      for (const source of words.slice(0, -1)) {
        if (source.startsWith('<<') || (instruction === 'ADD' && REMOTE.test(source))) continue;
        add(source);
      }
    } else if (instruction === 'RUN') {
      for (const flag of splitFlags(args).flags) {
        const mount = /^--mount=(.*)$/.exec(flag)?.[1];
        if (!mount) continue;
        const opts = Object.fromEntries(mount.split(',').map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
        // A bind mount without from= mounts the build context (its root unless source= says where).
        if ((opts.type ?? 'bind') === 'bind' && !opts.from) add(opts.source ?? opts.src ?? '.');
      }
    }
  }
  return { sources, wholeContext };
}

function splitFlags(args: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let rest = args.trimStart();
  for (let m = /^(--\S+)\s*/.exec(rest); m; m = /^(--\S+)\s*/.exec(rest)) {
    flags.push(m[1]!);
    rest = rest.slice(m[0].length);
  }
  return { flags, rest: rest.trim() };
}

function jsonWords(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((w) => typeof w === 'string')) return parsed;
  } catch {
    /* not JSON: Docker reads it as whitespace-separated words */
  }
  return text.split(/\s+/).filter(Boolean);
}

/**
 * Instructions with their continuation lines joined, comments dropped and
 * heredoc bodies skipped. Honours the `# escape=` parser directive.
 */
export function instructions(text: string): { instruction: string; args: string }[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  // Parser directives: only at the very top, before any comment, blank line or instruction.
  for (const line of lines) {
    const m = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(line);
    if (!m) break;
    if (m[1]!.toLowerCase() === 'escape') escape = m[2]!;
  }
  const out: { instruction: string; args: string }[] = [];
  const push = (line: string) => {
    const m = /^(\S+)\s*(.*)$/s.exec(line.trim());
    if (m) out.push({ instruction: m[1]!.toUpperCase(), args: m[2]! });
  };
  let current = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    // Comments and blank lines, also between continuation lines, are not part of an instruction.
    if (!trimmed || trimmed.startsWith('#')) continue;
    if (trimmed.endsWith(escape)) {
      current += `${trimmed.slice(0, -escape.length)} `;
      continue;
    }
    current += trimmed;
    push(current);
    // Heredocs (COPY <<EOF /file, RUN <<EOF): their bodies are not instructions.
    for (const h of current.matchAll(/<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g)) {
      const strip = h[1] === '-';
      while (i + 1 < lines.length) {
        const body = lines[++i]!;
        if ((strip ? body.replace(/^\t+/, '') : body) === h[3]) break;
      }
    }
    current = '';
  }
  // A last line ending in the escape character still ends its instruction.
  if (current) push(current);
  return out;
}
