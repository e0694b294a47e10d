import { ApplicationFailure, log } from '@temporalio/activity';
import type { ReleaseSchema } from '@gitbeaker/rest';
import {
  FailureType, RELEASE_PAGE_LINKS, artifactUrl, artifactsUrlNeeded, releaseKey, type GitLabConfig,
} from '@cd4ml/contracts';
import { openStore } from '@cd4ml/stores';
import { readManifest } from '../baseline.ts';
import { gitlabApi, readToken } from './client.ts';
import { gitlabFailure, statusOf } from './failures.ts';

export interface ReleasePageInput {
  /** cd4ml.yaml's gitlab section: it names the token's variable, never the token. */
  gitlab: GitLabConfig;
  store: string;
  project: string;
  tag: string;
  /** GitLab creates the tag at this commit if its repository does not have it yet. */
  tagCommit: string;
}

export interface ReleasePage {
  url: string;
  /** What this call wrote; empty when the page was already as it should be. */
  changes: string[];
}

interface WantedLink { name: string; url: string; linkType: string }

/** The links to a release's stored files; a folder store without gitlab.artifactsUrl has none GitLab would take. */
export function releasePageLinks(input: Pick<ReleasePageInput, 'gitlab' | 'store' | 'project' | 'tag'>, plots: readonly string[] = []): WantedLink[] {
  const files = [...RELEASE_PAGE_LINKS, ...plots.map((file) => ({ file, linkType: 'image' as const }))];
  return files.map(({ file, linkType }) => {
    const url = artifactUrl(input.store, `${releaseKey(input.project, input.tag)}/${file}`, input.gitlab.artifactsUrl);
    if (!url) throw ApplicationFailure.nonRetryable(`gitlab.artifactsUrl: ${artifactsUrlNeeded(input.store)}`, FailureType.ConfigInvalid);
    return { name: file, url, linkType };
  });
}

/**
 * The GitLab release of the tag, with the report as its notes and links to the
 * stored model, manifest and report. Check, then act: it creates what is
 * missing, fixes what differs, and writes nothing when all is as it should be,
 * so a retried publish changes nothing.
 */
export async function publishReleasePage(input: ReleasePageInput, env: NodeJS.ProcessEnv = process.env): Promise<ReleasePage> {
  const { gitlab, project, tag } = input;
  const token = readToken(gitlab.tokenEnv, env);
  const key = releaseKey(project, tag);
  const store = openStore(input.store);
  const plots = (await readManifest(store, project, tag))?.plots?.map((p) => p.file) ?? [];
  const links = releasePageLinks(input, plots);
  const report = await store.getText(`${key}/report.md`);
  // The report links its plots relative to the release folder; on GitLab they must be the stored files' urls.
  const notes = report && links.reduce((text, l) => text.replaceAll(`](${l.name})`, `](${l.url})`), report);
  if (notes === null) {
    throw ApplicationFailure.nonRetryable(
      `${input.store}/${key}/report.md not found: a release page shows a published release; publish ${tag} first`,
      FailureType.ReleasePageRejected,
    );
  }

  const api = gitlabApi(gitlab, token);
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw gitlabFailure(err, what, gitlab, token);
    }
  };
  const show = async (): Promise<ReleaseSchema | null> => {
    try {
      return await api.releases.show(gitlab.project, tag);
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw gitlabFailure(err, `reading release ${tag}`, gitlab, token);
    }
  };

  const name = `${project} ${tag}`;
  const changes: string[] = [];
  let release = await show();
  if (!release) {
    try {
      release = await api.releases.create(gitlab.project, {
        tagName: tag, name, description: notes, ref: input.tagCommit,
        assets: { links: links.map((l) => ({ name: l.name, url: l.url, linkType: l.linkType })) },
      });
      changes.push('created the release with its links');
    } catch (err) {
      // 409: an earlier attempt created it and its answer was lost. Carry on as with any existing release.
      if (statusOf(err) !== 409) throw gitlabFailure(err, `creating release ${tag}`, gitlab, token);
      release = await show();
      if (!release) throw gitlabFailure(err, `creating release ${tag}`, gitlab, token);
    }
  }

  // GitLab may drop trailing whitespace from a description: comparing with it would update forever.
  if (release.name !== name || (release.description ?? '').trimEnd() !== notes.trimEnd()) {
    await call(`updating the notes of release ${tag}`, () => api.releases.edit(gitlab.project, tag, { name, description: notes }));
    changes.push('updated the notes');
  }
  const have = new Map((release.assets?.links ?? []).map((l) => [l.name, l]));
  for (const link of links) {
    const existing = have.get(link.name);
    if (!existing) {
      await call(`adding link ${link.name} to release ${tag}`, () =>
        api.links.create(gitlab.project, tag, link.name, link.url, { linkType: link.linkType }));
      changes.push(`added link ${link.name}`);
    } else if (existing.url !== link.url || existing.link_type !== link.linkType) {
      await call(`fixing link ${link.name} of release ${tag}`, () =>
        api.links.edit(gitlab.project, tag, existing.id, { url: link.url, linkType: link.linkType }));
      changes.push(`fixed link ${link.name}`);
    }
  }

  const url = release._links?.self ?? `${gitlab.url.replace(/\/+$/, '')}/api/v4/projects/${encodeURIComponent(gitlab.project)}/releases/${encodeURIComponent(tag)}`;
  log.info('release page', { project, tag, url, changes });
  return { url, changes };
}
