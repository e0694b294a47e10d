import { TRAINING_DECISIONS, type TrainingDecision } from '@cd4ml/contracts/search-attributes';

/** What `cd4ml runs` lists, by workflow type. */
export const RUN_KINDS = { train: 'trainModel', sweep: 'sweep', image: 'buildImage' } as const;
export type RunKind = keyof typeof RUN_KINDS;

export interface RunFilters {
  project?: string;
  location?: string;
  decision?: string;
  /** How far back: 30m, 12h, 7d, 2w, or an ISO date. */
  since?: string;
  kind?: string;
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
// Names go into a visibility query: only what a project or location name may be, so nothing can be injected.
const NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/** The start of the window `--since` names, or an error saying what it accepts. */
export function sinceDate(since: string, now = Date.now()): Date {
  const m = /^(\d+)([mhdw])$/.exec(since.trim());
  if (m) return new Date(now - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
  const date = new Date(since);
  if (/^\d{4}-\d{2}-\d{2}/.test(since) && !Number.isNaN(date.getTime())) return date;
  throw new Error(`--since ${since}: not a time span or date; give e.g. 30m, 12h, 7d, 2w or 2026-11-30`);
}

function name(flag: string, value: string): string {
  if (!NAME.test(value)) throw new Error(`--${flag} ${value}: not a ${flag} name (letters, digits, '.', '_', '-')`);
  return value;
}

/**
 * The visibility query for the filters. Trainings carry the cd4ml search attributes; sweeps and image
 * builds do not, so their project comes from the workflow id (sweep/<project>/..., image/<project>/...),
 * and a location or decision filter selects trainings only.
 */
export function runsQuery(f: RunFilters, now = Date.now()): string {
  const parts: string[] = [];
  const kinds = f.kind ? [kindOf(f.kind)] : (Object.keys(RUN_KINDS) as RunKind[]);
  const trainingOnly = f.location !== undefined || f.decision !== undefined;
  const types = trainingOnly ? kinds.filter((k) => k === 'train') : kinds;
  if (!types.length) throw new Error(`--kind ${f.kind}: --location and --decision select trainings only; drop them or use --kind train`);
  parts.push(`WorkflowType IN (${types.map((k) => `"${RUN_KINDS[k]}"`).join(', ')})`);
  if (f.project !== undefined) {
    const p = name('project', f.project);
    const byId = types.filter((k) => k !== 'train').map((k) => `WorkflowId STARTS_WITH "${k}/${p}/"`);
    parts.push(`(${[`Cd4mlProject = "${p}"`, ...byId].join(' OR ')})`);
  }
  if (f.location !== undefined) parts.push(`Cd4mlLocation = "${name('location', f.location)}"`);
  if (f.decision !== undefined) parts.push(`Cd4mlDecision = "${decisionOf(f.decision)}"`);
  if (f.since !== undefined) parts.push(`StartTime > "${sinceDate(f.since, now).toISOString()}"`);
  return parts.join(' AND ');
}

function kindOf(kind: string): RunKind {
  if (kind in RUN_KINDS) return kind as RunKind;
  throw new Error(`--kind ${kind}: not a kind of run; one of ${Object.keys(RUN_KINDS).join(', ')}`);
}

function decisionOf(decision: string): TrainingDecision {
  if ((TRAINING_DECISIONS as readonly string[]).includes(decision)) return decision as TrainingDecision;
  throw new Error(`--decision ${decision}: not a decision; one of ${TRAINING_DECISIONS.join(', ')}`);
}
