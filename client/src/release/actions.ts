import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ReleaseManifest, RolloutConfig, candidateKey, describeInvalid, parseProjectConfig, releaseKey,
  type ServingState,
} from '@cd4ml/contracts';
import { isS3Url, openStore, type ReleaseStore } from '@cd4ml/stores';
import { promote, rollback } from '@cd4ml/serving/channels/state';
import { readServingState, updateServingState } from '@cd4ml/serving/channels/store';
import { statusLines, type ReplicaRollout } from '../commands/release-status.ts';

// What `cd4ml release list|promote|rollback|status` do to the serving decision in the store (serving.json).

export interface Common { store: string; project: string; cache: string }

const open = (o: Common): ReleaseStore =>
  openStore(isS3Url(o.store) ? o.store : path.resolve(o.store), { cacheDir: path.resolve(o.cache) });

const by = (): string => `cli:${process.env.USER ?? process.env.USERNAME ?? 'unknown'}`;

/** The manifest of a published release, or why it cannot be served (missing, or never passed the gate). */
async function gatePassed(store: ReleaseStore, project: string, tag: string): Promise<ReleaseManifest> {
  const text = await store.getText(`${releaseKey(project, tag)}/release.json`);
  if (text === null) {
    const staged = await store.stat(`${candidateKey(project, tag)}/release.json`).catch(() => null);
    if (staged) throw new Error(`${project} ${tag} never passed the gate (it is only a staged candidate); train a release that passes, see \`cd4ml release list --project ${project}\``);
    throw new Error(`${project} has no release ${tag} in ${store.url}; see \`cd4ml release list --project ${project}\` for the tags there are`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${store.locate(`${releaseKey(project, tag)}/release.json`)} is not JSON (${(err as Error).message}); republish ${tag}`);
  }
  const parsed = ReleaseManifest.safeParse(raw);
  if (!parsed.success) throw new Error(`${describeInvalid(`${project} ${tag} release.json`, parsed.error.issues)}\nrepublish ${tag}, or promote another release`);
  const manifest = parsed.data;
  const failed = manifest.checks.filter((c) => !c.passed);
  if (failed.length) throw new Error(`${project} ${tag} did not pass the gate (${failed.map((c) => c.name).join(', ')} failed); promote a release whose checks all passed`);
  return manifest;
}

/** The rollout from flags, over cd4ml.yaml's serving.rollout; null for direct. */
export interface RolloutFlags { config?: string; mode?: string; steps?: string; stepTime?: string; maxErrorRate?: string; maxP99Ms?: string; maxOutputShift?: string; minRequests?: string; minAgreement?: string }

function rolloutOf(o: RolloutFlags): RolloutConfig | null {
  let base: Record<string, unknown> = {};
  if (o.config) {
    const cfg = parseProjectConfig(readFileSync(o.config, 'utf8'), o.config);
    base = { ...(cfg.serving?.rollout ?? {}) };
  }
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const flags: Record<string, unknown> = {
    mode: o.mode, steps: o.steps?.split(',').map((x) => Number(x.trim())), stepTime: o.stepTime,
    maxErrorRate: num(o.maxErrorRate), maxP99Ms: num(o.maxP99Ms), maxOutputShift: num(o.maxOutputShift),
    minRequests: num(o.minRequests), minAgreement: num(o.minAgreement),
  };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) base[k] = v;
  if (Object.keys(base).length === 0) return null;
  const parsed = RolloutConfig.safeParse(base);
  if (!parsed.success) {
    const flags = [...new Set(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`))];
    throw new Error(`${describeInvalid('rollout (cd4ml.yaml serving.rollout and the flags)', parsed.error.issues)}\nfix ${flags.join(', ')} (or serving.rollout in cd4ml.yaml), e.g. --steps 5,25,100 --max-error-rate 0.01`);
  }
  return parsed.data.mode === 'direct' ? null : parsed.data;
}

function servingOf(state: ServingState, tag: string): string {
  if (state.live === tag) return 'live';
  if (state.candidate?.tag === tag) return `candidate (${state.candidate.rollout.mode})`;
  if (state.previous.includes(tag)) return 'previous';
  return '-';
}

const print = (state: ServingState, replica: ReplicaRollout | null = null): void => console.log(statusLines(state, replica).join('\n'));

/** A replica's own view of the rollout (fresher figures, paused or not), from GET /v2/models/<project>. */
async function replicaRollout(url: string, project: string): Promise<ReplicaRollout | null> {
  const where = `${url.replace(/\/$/, '')}/v2/models/${encodeURIComponent(project)}`;
  let res: Response;
  try {
    res = await fetch(where, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new Error(`--url: cannot reach ${where} (${(err as Error).message}); give the address of a running \`cd4ml serve\``);
  }
  if (!res.ok) throw new Error(`--url: ${where} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { cd4ml?: { rollout?: ReplicaRollout | null } };
  return body.cd4ml?.rollout ?? null;
}

export async function listReleases(o: Common): Promise<void> {
  const store = open(o);
  const { state } = await readServingState(store, o.project);
  const names = (await store.list(o.project)).filter((n) => !n.startsWith('.') && !n.endsWith('.json'));
  console.log(['tag', 'created', 'metric', 'gate', 'serving'].join('\t'));
  for (const tag of names) {
    const text = await store.getText(`${releaseKey(o.project, tag)}/release.json`).catch(() => null);
    if (text === null) continue;
    const m = ReleaseManifest.safeParse(JSON.parse(text));
    if (!m.success) {
      console.log([tag, '-', '-', 'invalid release.json', servingOf(state, tag)].join('\t'));
      continue;
    }
    const g = m.data.gate;
    const metric = g ? `${g.metric} ${g.candidate ?? '-'}` : Object.entries(m.data.metrics).slice(0, 1).map(([k, v]) => `${k} ${String(v)}`).join('') || '-';
    const gate = m.data.checks.every((c) => c.passed) ? 'accepted' : 'failed checks';
    console.log([tag, m.data.createdAt, metric, gate, servingOf(state, tag)].join('\t'));
  }
}

/** `release status`: the serving state, with a replica's fresher figures when `url` is given. */
export async function showReleaseStatus(o: Common & { url?: string }): Promise<void> {
  const { state } = await readServingState(open(o), o.project);
  print(state, o.url ? await replicaRollout(o.url, o.project) : null);
}

/** `release promote`: bad flags are refused before the store is touched, then the gate's verdict is checked. */
export async function promoteRelease(tag: string, o: Common & RolloutFlags): Promise<void> {
  const rollout = rolloutOf(o);
  const store = open(o);
  await gatePassed(store, o.project, tag);
  const next = await updateServingState(store, o.project, (s) => promote(s, tag, rollout, by()));
  if (next) print(next);
}

export async function rollbackRelease(o: Common): Promise<void> {
  const next = await updateServingState(open(o), o.project, (s) => rollback(s, by(), 'asked for on the command line'));
  if (next) print(next);
}
