import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Paths relative to this module: in the source tree it is serving/src/, in a build
// (scripts/build.ts) it is inlined into a bundle in <package>/dist/, beside the assets the
// build copies there. Both layouts are tried, the bundle's first.

/** A file of serving/proto/ (the build copies it beside the bundle). */
export function protoFile(name: string): string {
  const beside = fileURLToPath(new URL(`./${name}`, import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL(`../proto/${name}`, import.meta.url));
}

/** The version of the package serving runs from (serving's own, or the installed cd4ml package's); 0.0.0 when unknown. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
