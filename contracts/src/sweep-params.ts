import { parse as parseYaml } from 'yaml';

// Sweep settings as `dvc exp run --set-param` (-S) takes them: `train.C=0.1` sets one
// dotted key of params.yaml to a YAML-typed value; `train.C=0.1,1,10` (a grid option)
// lists several values, one trial each. The grid is the cartesian product of its keys.

/** One trial's parameters: dotted key -> value, in the order the grid named the keys. */
export type SweepSetting = Record<string, unknown>;
/** Dotted key -> the values to try, in order. */
export type SweepGrid = Record<string, unknown[]>;

export class SweepParamError extends Error {
  override name = 'SweepParamError';
}

// A dotted key such as train.C or prepare.split_0; "+" adds a key params.yaml lacks, as dvc (hydra) needs.
const KEY = /^\+?[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/** Splits on commas outside brackets and quotes, so `[1,2],[3]` is two values. */
function splitValues(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

/** A value as YAML types it (0.1 a number, true a boolean, abc a string), as dvc does. */
function yamlValue(option: string, raw: string): unknown {
  if (raw === '') throw new SweepParamError(`${JSON.stringify(option)}: an empty value; give one after "=", e.g. train.C=0.1`);
  try {
    return parseYaml(raw);
  } catch (err) {
    throw new SweepParamError(`${JSON.stringify(option)}: ${JSON.stringify(raw)} is not a YAML value (${(err as Error).message.split('\n')[0]})`);
  }
}

function splitOption(option: string): [string, string] {
  const eq = option.indexOf('=');
  const key = eq < 0 ? '' : option.slice(0, eq).trim();
  if (eq < 0 || !KEY.test(key)) {
    throw new SweepParamError(
      `${JSON.stringify(option)}: expected <dotted key>=<values>, e.g. 'train.C=0.1,1,10' (keys as in params.yaml, values comma-separated)`,
    );
  }
  return [key, option.slice(eq + 1)];
}

/** `train.C=0.1,1,10` -> ['train.C', [0.1, 1, 10]]. */
export function parseGridOption(option: string): [string, unknown[]] {
  const [key, rest] = splitOption(option);
  return [key, splitValues(rest).map((v) => yamlValue(option, v))];
}

/** Repeated --grid options as one grid; a key given twice is refused (which of them would win?). */
export function parseGrid(options: readonly string[]): SweepGrid {
  const grid: SweepGrid = {};
  for (const option of options) {
    const [key, values] = parseGridOption(option);
    if (key in grid) throw new SweepParamError(`--grid ${JSON.stringify(option)}: ${key} is already in the grid; list all its values in one option`);
    grid[key] = values;
  }
  return grid;
}

/** Every combination, the first key varying slowest, as a nested loop would. */
export function expandGrid(grid: SweepGrid): SweepSetting[] {
  const keys = Object.keys(grid);
  if (keys.length === 0) throw new SweepParamError('the sweep has no parameters: give at least one --grid key=values');
  for (const k of keys) {
    if (!grid[k]!.length) throw new SweepParamError(`grid key ${k} has no values`);
  }
  let settings: SweepSetting[] = [{}];
  for (const key of keys) settings = settings.flatMap((s) => grid[key]!.map((v) => ({ ...s, [key]: v })));
  return settings;
}

/** mulberry32: a small seeded generator, so a seed picks the same subset everywhere. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` distinct settings drawn from `settings` by `seed` (a partial Fisher-Yates
 * shuffle), kept in grid order; all of them when there are no more than `count`.
 */
export function sampleSettings(settings: readonly SweepSetting[], count: number, seed: number): SweepSetting[] {
  if (!Number.isInteger(count) || count < 1) throw new SweepParamError(`--random ${count}: a whole number of settings, 1 or more`);
  if (!Number.isInteger(seed)) throw new SweepParamError(`--seed ${seed}: a whole number`);
  if (count >= settings.length) return [...settings];
  const next = seeded(seed);
  const index = settings.map((_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(next() * (index.length - i));
    [index[i], index[j]] = [index[j]!, index[i]!];
  }
  return index.slice(0, count).sort((a, b) => a - b).map((i) => settings[i]!);
}

/** The settings of a sweep: the grid's product, or a seeded sample of it. */
export function sweepSettings(grid: SweepGrid, random?: { count: number; seed: number }): SweepSetting[] {
  const all = expandGrid(grid);
  return random ? sampleSettings(all, random.count, random.seed) : all;
}

/** `train.C=0.1 train.model=decision_tree`: a setting as a person would type it. */
export function describeSetting(setting: SweepSetting): string {
  return Object.entries(setting).map(([k, v]) => `${k.replace(/^\+/, '')}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}
