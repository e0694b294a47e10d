// .dockerignore semantics, as in moby's patternmatcher: Go filepath.Match
// patterns plus "**", "!" exceptions, the last matching line wins, and a
// pattern that matches a folder matches everything in it.

const REGEX_SPECIALS = new Set([...'.+()|{}$^']);

/** A glob as an anchored RegExp. With `globstar`, "**" spans folders ("**\/" also matches no folder). */
export function globToRegExp(pattern: string, globstar: boolean): RegExp {
  let re = '^';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (inClass) {
      if (ch === ']') inClass = false;
      if (ch === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
      else re += ch;
    } else if (ch === '*') {
      if (globstar && pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(?:.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '[') {
      inClass = true;
      // Go's negation is "[^...]", which a RegExp reads the same way.
      re += '[';
    } else if (ch === '\\' && i + 1 < pattern.length) {
      re += `\\${pattern[++i]}`;
    } else {
      re += REGEX_SPECIALS.has(ch) ? `\\${ch}` : ch;
    }
  }
  return new RegExp(`${re}$`);
}

/** Go's filepath.Clean for slash paths, relative to the context root: "..", "." and leading "/" removed. */
export function cleanContextPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop(); // Docker clamps paths to the context root.
    else out.push(part);
  }
  return out.join('/');
}

/** `path` or one of the folders above it matches. */
export function matchesOrParent(re: RegExp, path: string): boolean {
  if (re.test(path)) return true;
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) if (re.test(parts.slice(0, i).join('/'))) return true;
  return false;
}

interface IgnoreRule {
  re: RegExp;
  exception: boolean;
}

/** Whether a path in the context is left out of the build by an ignore file's text. */
export function ignoreMatcher(text: string | null): (path: string) => boolean {
  const rules: IgnoreRule[] = [];
  for (const raw of (text ?? '').replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    let line = raw.trim();
    if (!line) continue;
    const exception = line.startsWith('!');
    if (exception) line = line.slice(1).trim();
    const cleaned = cleanContextPath(line);
    // "!" alone, or a pattern that cleans to the whole context, ignores (or keeps) everything.
    rules.push({ re: cleaned ? globToRegExp(cleaned, true) : /^/, exception });
  }
  if (rules.length === 0) return () => false;
  return (path: string) => {
    let ignored = false;
    for (const rule of rules) {
      // A rule can only flip the current answer: skip the ones that would not.
      if (rule.exception !== ignored) continue;
      if (matchesOrParent(rule.re, path)) ignored = !rule.exception;
    }
    return ignored;
  };
}
