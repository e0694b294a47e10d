import { GitHubPushPayload, GitLabPushPayload, type PushEvent } from '@cd4ml/contracts';

/** A delivery that is not a branch push with a head commit: answered 200 with the reason, nothing started. */
export interface Ignored {
  ignored: string;
}

/** A payload that does not have the shape its event promises: answered 400. */
export class BadPayload extends Error {
  override name = 'BadPayload';
}

const ZERO = /^0+$/;

function problems(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || 'payload'}: ${i.message}`).join('; ');
}

function branchOf(ref: string): string | Ignored {
  if (ref.startsWith('refs/tags/')) return { ignored: `tag push (${ref}): cd4ml pushes release tags itself` };
  if (!ref.startsWith('refs/heads/')) return { ignored: `not a branch: ${ref}` };
  return ref.slice('refs/heads/'.length);
}

/** A GitLab "Push Hook" delivery. */
export function fromGitLab(event: string | undefined, payload: unknown): PushEvent | Ignored {
  if (event !== 'Push Hook') return { ignored: `GitLab event ${JSON.stringify(event ?? null)}: only Push Hook starts anything` };
  const parsed = GitLabPushPayload.safeParse(payload);
  if (!parsed.success) throw new BadPayload(`not a GitLab push payload: ${problems(parsed.error.issues)}`);
  const p = parsed.data;
  const branch = branchOf(p.ref);
  if (typeof branch !== 'string') return branch;
  const head = p.checkout_sha ?? p.after;
  if (ZERO.test(head)) return { ignored: `branch ${branch} deleted` };
  // GitLab lists at most the 20 newest commits of a push, the head among them.
  const commit = p.commits.find((c) => c.id === head);
  if (!commit) return { ignored: `the push's head commit ${head.slice(0, 8)} is not in its commit list` };
  return {
    provider: 'gitlab', branch, commit: head, message: commit.message,
    repoUrl: p.project.git_http_url ?? '', pusher: p.user_username ?? p.user_name ?? 'gitlab',
  };
}

/** A GitHub "push" delivery ("ping" is answered by the gateway). */
export function fromGitHub(event: string | undefined, payload: unknown): PushEvent | Ignored {
  if (event !== 'push') return { ignored: `GitHub event ${JSON.stringify(event ?? null)}: only push starts anything` };
  const parsed = GitHubPushPayload.safeParse(payload);
  if (!parsed.success) throw new BadPayload(`not a GitHub push payload: ${problems(parsed.error.issues)}`);
  const p = parsed.data;
  const branch = branchOf(p.ref);
  if (typeof branch !== 'string') return branch;
  if (p.deleted || ZERO.test(p.after) || !p.head_commit) return { ignored: `branch ${branch} deleted` };
  return {
    provider: 'github', branch, commit: p.head_commit.id, message: p.head_commit.message,
    repoUrl: p.repository.clone_url ?? '', pusher: p.pusher?.name ?? p.sender?.login ?? 'github',
  };
}
