import { describe, expect, it } from 'vitest';
import { confusionMatrixPlot, regressionPlots } from '@cd4ml/activities/gate/plots';

// The report's pictures, rendered headless by vega-lite: what a reviewer would look for in them.
describe('gate plots', () => {
  const truth = Array.from({ length: 2000 }, (_, i) => 50 + (i % 300));
  const models = [
    { label: 'candidate', predicted: truth.map((t, i) => t + Math.sin(i) * 30) },
    { label: 'baseline v1.3', predicted: truth.map((t) => t * 0.8 + 20) },
  ];

  it('regression: one panel per model, one reference line each, at most 400 points per model', async () => {
    const [vsTrue, residuals] = await regressionPlots(truth, models);
    expect(vsTrue!.title).toBe('Predicted vs true on 2000 holdout rows (400 of 2000 rows)');
    for (const plot of [vsTrue!, residuals!]) {
      expect((plot.svg.match(/stroke-dasharray/g) ?? []).length).toBe(2);
      expect((plot.svg.match(/aria-roledescription="point"/g) ?? []).length).toBe(800);
      expect(plot.svg).toContain('baseline v1.3');
    }
  });

  it('classification: the confusion matrix counts each true and predicted class', async () => {
    const labels = [0, 0, 1, 1, 2, 2, 2];
    const plot = await confusionMatrixPlot(['a', 'b', 'c'], labels, [{ label: 'candidate', predicted: [0, 1, 1, 1, 2, 2, 0] }]);
    // 3x3 cells, each labelled with its count; row a: 1 right, 1 predicted as b.
    expect((plot.svg.match(/aria-roledescription="text mark"|role-mark/g) ?? []).length).toBeGreaterThan(0);
    expect(plot.svg).toMatch(/aria-label="predicted: b; true: a; count: 1"/);
    expect(plot.svg).toMatch(/aria-label="predicted: c; true: c; count: 2"/);
    expect(plot.svg).toMatch(/aria-label="predicted: a; true: c; count: 1"/);
  });
});
