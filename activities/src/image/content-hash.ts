import { createHash } from 'node:crypto';
import { dockerfileSources } from './dockerfile-sources.ts';
import { globToRegExp, ignoreMatcher, matchesOrParent } from './ignore-patterns.ts';

/** A file in the build context: its path inside the context, its mode, and an id of its content (a git blob id). */
export interface ContextFile {
  path: string;
  mode: string;
  id: string;
}

export interface ContextHashInput {
  dockerfile: string;
  /** Text of the context's ignore file (.dockerignore), or null when there is none. */
  ignoreFile: string | null;
  files: ContextFile[];
}

export interface ContextHash {
  /** The image tag: the same Dockerfile and the same files it uses give the same hash. */
  hash: string;
  /** The files that went into the hash, sorted. */
  used: string[];
}

/** Short enough to read in a tag or workflow id; 80 bits make a collision between one project's images implausible. */
const HASH_HEX_CHARS = 20;

/**
 * The content address of an image: the Dockerfile's text, the ignore file's
 * text, and the path, mode and content of each context file a COPY or ADD can
 * reach, minus what the ignore file leaves out (the builders honour it too, so
 * an ignored file cannot change the image; `COPY . .` with `data/` ignored
 * must not rebuild on every commit). Files nothing copies do not count.
 */
export function contextHash(input: ContextHashInput): ContextHash {
  const { sources, wholeContext } = dockerfileSources(input.dockerfile);
  const ignored = ignoreMatcher(input.ignoreFile);
  const patterns = sources.map((s) => (s === '.' ? null : globToRegExp(s, false)));
  const reaches = (p: string) => wholeContext || patterns.some((re) => re === null || matchesOrParent(re, p));

  const used = input.files
    .filter((f) => reaches(f.path) && !ignored(f.path))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash('sha256');
  // A version line: a change to what the hash covers must not reuse old tags.
  h.update('cd4ml image context v1\n');
  h.update(`dockerfile ${sha256(input.dockerfile)}\n`);
  h.update(`ignore ${input.ignoreFile === null ? '-' : sha256(input.ignoreFile)}\n`);
  for (const f of used) h.update(`${f.mode} ${f.id} ${JSON.stringify(f.path)}\n`);
  return { hash: h.digest('hex').slice(0, HASH_HEX_CHARS), used: used.map((f) => f.path) };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
