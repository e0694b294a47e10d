import { describe, expect, it } from 'vitest';
import type { TrainingResult } from '@cd4ml/contracts';
import { renderOutcome } from '@cd4ml/client/render';

const accepted: TrainingResult = {
  decision: 'accepted', reasons: [], releaseTag: 'v1.0', commit: 'c'.repeat(40), checks: [], metrics: { accuracy: 0.98 },
  baseline: null, durations: {}, machineSeconds: 12, estimatedCost: null, release: { store: '/srv/releases', key: 'penguins/v1.0', tagCommit: 't'.repeat(40) },
};
const render = (releasePage?: TrainingResult['releasePage']) =>
  renderOutcome({ kind: 'completed', result: { ...accepted, ...(releasePage && { releasePage }) } });

describe('renderOutcome: the release page', () => {
  it('shows the page of an accepted release', () => {
    expect(render({ published: true, url: 'https://gitlab.example.com/ml/penguins/-/releases/v1.0' }))
      .toMatch(/^folder: {2}\/srv\/releases\/penguins\/v1\.0\npage: {4}https:\/\/gitlab\.example\.com\/ml\/penguins\/-\/releases\/v1\.0$/m);
  });

  it('warns when the page could not be written, under a still accepted release', () => {
    const text = render({ published: false, failureType: 'CredentialsRejected', error: 'set GITLAB_TOKEN' });
    expect(text).toMatch(/^ACCEPTED: v1\.0/);
    expect(text).toMatch(/^WARNING: release page not written \(CredentialsRejected\): set GITLAB_TOKEN$/m);
  });

  it('says nothing of a page without a gitlab section', () => {
    expect(render()).not.toMatch(/page/);
  });
});
