import { z } from 'zod';
import { LocationName } from './config.ts';
import { TrainingRequest, type TrainingResult } from './training.ts';
import { SweepParamError, parseGrid, type SweepGrid } from './sweep-params.ts';

// What starts a training besides a person at the CLI: a pushed commit whose
// message asks for it (through a CI webhook), and the nightly schedule.

// ---- commit-message commands ------------------------------------------------------

/**
 * What a commit message asks for, as in the hand-built GitLab pipelines:
 * `trigger training <tag> [on <location>]` or `build image`, at the start of
 * the message's first line (case as written; anything after is free text).
 */
export type CommitCommand =
  | { kind: 'train'; releaseTag: string; location?: string }
  | { kind: 'sweep'; releaseTag: string; grid: SweepGrid; location?: string }
  | { kind: 'build-image' };

/** A message that starts like a command but cannot be one: the webhook answers 422 with this. */
export class CommitCommandError extends Error {
  override name = 'CommitCommandError';
}

// Case-insensitive keywords; the tag keeps its case. "trigger trainingX" is no command.
// A ":" may end the command: "trigger training v1.4: more data".
const TRAIN = /^trigger training(?:\s+([^\s:]+)(?:\s+on\s+([^\s:]+))?)?(?=[\s:]|$)/i;
const BUILD_IMAGE = /^build image(?=[\s:]|$)/i;
// `trigger sweep v2.0 train.C=0.1,1,10 train.model=a,b [on gpu]`: the grid as --grid options, one per word.
const SWEEP = /^trigger sweep(?=[\s:]|$)(.*)$/i;

function parseSweep(rest: string): CommitCommand {
  const words = rest.replace(/:.*$/, '').trim().split(/\s+/).filter(Boolean);
  const [tag, ...more] = words;
  if (!tag) throw new CommitCommandError('"trigger sweep" needs a release tag and a grid: "trigger sweep v2.0 train.C=0.1,1,10"');
  const checked = TrainingRequest.shape.releaseTag.safeParse(tag);
  if (!checked.success) throw new CommitCommandError(`"trigger sweep ${tag}": ${JSON.stringify(tag)} is not a release tag (${checked.error.issues[0]!.message})`);
  const on = more.indexOf('on');
  const location = on >= 0 ? more[on + 1] : undefined;
  if (on >= 0 && (location === undefined || !LocationName.safeParse(location).success || on + 2 !== more.length)) {
    throw new CommitCommandError(`"trigger sweep ${tag} ... on <location>": "on" goes last, followed by a location name (lower-case letters, digits or "-")`);
  }
  const options = on >= 0 ? more.slice(0, on) : more;
  if (!options.length) throw new CommitCommandError(`"trigger sweep ${tag}" needs a grid: "trigger sweep ${tag} train.C=0.1,1,10"`);
  try {
    const grid = parseGrid(options);
    return location === undefined ? { kind: 'sweep', releaseTag: tag, grid } : { kind: 'sweep', releaseTag: tag, grid, location };
  } catch (err) {
    if (err instanceof SweepParamError) throw new CommitCommandError(`"trigger sweep ${tag}": ${err.message}`);
    throw err;
  }
}

/** The command in a commit message, null when it holds none. */
export function parseCommitCommand(message: string): CommitCommand | null {
  const first = message.split('\n', 1)[0]!.trim();
  if (BUILD_IMAGE.test(first)) return { kind: 'build-image' };
  const sweep = SWEEP.exec(first);
  if (sweep) return parseSweep(sweep[1]!);
  const m = TRAIN.exec(first);
  if (!m) return null;
  const [, tag, location] = m;
  if (!tag) throw new CommitCommandError('"trigger training" needs a release tag: "trigger training v1.4"');
  const checked = TrainingRequest.shape.releaseTag.safeParse(tag);
  if (!checked.success) {
    throw new CommitCommandError(`"trigger training ${tag}": ${JSON.stringify(tag)} is not a release tag (${checked.error.issues[0]!.message})`);
  }
  if (location !== undefined && !LocationName.safeParse(location).success) {
    throw new CommitCommandError(`"trigger training ${tag} on ${location}": ${JSON.stringify(location)} is not a location name (lower-case letters, digits or "-")`);
  }
  return location === undefined ? { kind: 'train', releaseTag: tag } : { kind: 'train', releaseTag: tag, location };
}

// ---- push events --------------------------------------------------------------------

/** A branch push as the webhook gateway sees it, whichever forge sent it. */
export interface PushEvent {
  provider: 'gitlab' | 'github';
  /** Branch name (refs/heads/ stripped). */
  branch: string;
  /** The pushed head commit. */
  commit: string;
  /** Its message: the one a CI job sees as $CI_COMMIT_MESSAGE. */
  message: string;
  /** Clone url the forge reports (http); the gateway's --project name=url wins. */
  repoUrl: string;
  pusher: string;
}

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'a 40-character commit sha');

/** GitLab's "Push Hook" payload: the fields cd4ml reads. */
export const GitLabPushPayload = z.object({
  object_kind: z.literal('push'),
  ref: z.string(),
  after: z.string(),
  checkout_sha: sha.nullable().optional(),
  user_username: z.string().optional(),
  user_name: z.string().optional(),
  project: z.object({ git_http_url: z.string().optional(), web_url: z.string().optional() }).passthrough(),
  commits: z.array(z.object({ id: z.string(), message: z.string() }).passthrough()).default([]),
}).passthrough();

/** GitHub's "push" payload: the fields cd4ml reads. */
export const GitHubPushPayload = z.object({
  ref: z.string(),
  after: z.string(),
  deleted: z.boolean().default(false),
  head_commit: z.object({ id: z.string(), message: z.string() }).passthrough().nullable(),
  repository: z.object({ clone_url: z.string().optional() }).passthrough(),
  pusher: z.object({ name: z.string().optional() }).passthrough().optional(),
  sender: z.object({ login: z.string().optional() }).passthrough().optional(),
}).passthrough();

// ---- the nightly schedule -------------------------------------------------------------

/** What the `nightly/<project>` schedule passes to each nightly run. */
export const NightlyRequest = TrainingRequest.pick({ project: true, repoUrl: true, branch: true, location: true, configPath: true })
  .extend({ location: z.string().min(1).default('local') });
export type NightlyRequest = z.infer<typeof NightlyRequest>;
export type NightlyRequestInput = z.input<typeof NightlyRequest>;

/** A DVC-tracked path whose content hash differs from the latest release's. */
export interface DataChange {
  path: string;
  /** Its hash in the latest release; null when that release did not have it. */
  released: string | null;
  now: string;
}

/** What a nightly run found, and the training it started (if any). */
export interface NightlyResult {
  commit: string;
  /** The release the branch head was compared with; null before the first release. */
  latestTag: string | null;
  changed: DataChange[];
  /** Why it trained or not, one line, for the Web UI and `cd4ml nightly show`. */
  summary: string;
  training?: { workflowId: string; releaseTag: string; result: TrainingResult };
}

/** `nightly-20261129-020000`: the UTC time of the run, so each run's tag is new and they sort. */
export function nightlyReleaseTag(at: Date): string {
  const iso = at.toISOString(); // 2026-11-29T02:00:00.000Z
  return `nightly-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}
