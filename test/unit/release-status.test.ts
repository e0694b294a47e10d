import { describe, expect, it } from 'vitest';
import { RolloutConfig, type RolloutFigures } from '@cd4ml/contracts';
import { figureLines, statusLines } from '../../client/src/commands/release-status.ts';
import { advance, initialState, promote, rollback } from '../../serving/src/channels/state.ts';

// What `cd4ml release status` prints, from serving.json states made by the same
// transitions the CLI and the replicas use.

const figures = (o: Partial<RolloutFigures>): RolloutFigures => ({
  requests: 40, errorRate: 0, p99Ms: 3, liveRequests: 160, liveErrorRate: 0, liveP99Ms: 2, outputShift: 0.02, agreement: null, ...o,
});
const canary = RolloutConfig.parse({ steps: [10, 50, 100], stepTime: '5m', minRequests: 20 });

describe('release status', () => {
  it('each figure against its limit: ok, BROKEN, or waiting while there are too few requests', () => {
    const lines = figureLines(canary, figures({ errorRate: 0.2, outputShift: 0.02 }));
    expect(lines.find((l) => l.includes('errorRate'))).toMatch(/errorRate 0.200 <= maxErrorRate 0.01: BROKEN \(live 0.000\)/);
    expect(lines.find((l) => l.includes('outputShift'))).toMatch(/outputShift 0.020 <= maxOutputShift 0.1: ok/);
    expect(figureLines(canary, figures({ requests: 5, errorRate: 1 })).find((l) => l.includes('errorRate'))).toMatch(/: waiting/);
    const shadow = RolloutConfig.parse({ mode: 'shadow', minAgreement: 0.9 });
    expect(figureLines(shadow, figures({ agreement: 0.5 })).at(-1)).toMatch(/agreement 0.500 >= minAgreement 0.9: BROKEN/);
  });

  it('the step, the replica\'s fresher figures and a pause, then why the rollback happened', () => {
    let s = promote(initialState('penguins', 'v1'), 'v2', canary, 'cli:ana');
    s = advance(s, figures({}), 'replica-a');
    const paused = statusLines(s, { candidate: 'v2', loaded: true, share: 0.5, figures: figures({ requests: 7 }), paused: 'store unreadable, rollout paused: timeout' });
    expect(paused[0]).toBe('penguins: live v1');
    expect(paused[1]).toMatch(/^rollout: v2 canary step 2 of 3 \(10% -> 50% -> 100%\): 50% since .*, 5m a step$/);
    expect(paused).toContain('  PAUSED: store unreadable, rollout paused: timeout');
    expect(paused).toContain('  figures this step (from the replica):');
    expect(paused.some((l) => l.startsWith('  requests  7 (judged from 20'))).toBe(true);

    s = rollback(s, 'replica-b', 'error rate 0.300 > maxErrorRate 0.01 over 40 requests (live 0.000)', figures({ errorRate: 0.3 }));
    const after = statusLines(s);
    expect(after).toContain('rollout: none');
    expect(after.at(-1)).toMatch(/^last rollback: v2 at .*, because error rate 0.300 > maxErrorRate 0.01/);
    expect(after.filter((l) => / (start|advance|rollback) v2 by /.test(l))).toHaveLength(3);
  });
});
