import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

// The pictures reviewers look at, candidate and baseline side by side on the
// same holdout rows, as SVG files stored with the release (vega-lite, rendered
// headless: no browser, no canvas).

export interface Plot {
  /** Relative to the release folder, e.g. plots/confusion-matrix.svg */
  file: string;
  title: string;
  svg: string;
}

/** One model's predictions on the holdout: the candidate, and the baseline when there is one. */
export interface ModelPredictions {
  /** e.g. "candidate v1.4", "baseline v1.3" */
  label: string;
  predicted: ArrayLike<number>;
}

/** Scatter plots show at most this many rows per model: more only makes a heavier file. */
const MAX_POINTS = 400;
const PANEL = 260;

export async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every k-th row, so the same holdout always gives the same picture. */
function sampleRows(rows: number): { rows: number[]; note: string } {
  if (rows <= MAX_POINTS) return { rows: Array.from({ length: rows }, (_, i) => i), note: '' };
  const step = rows / MAX_POINTS;
  return { rows: Array.from({ length: MAX_POINTS }, (_, i) => Math.floor(i * step)), note: ` (${MAX_POINTS} of ${rows} rows)` };
}

const order = (models: ModelPredictions[]) => models.map((m) => m.label);

/** Confusion matrix per model: true class down, predicted class across, counts in the cells. */
export async function confusionMatrixPlot(classes: string[], truth: ArrayLike<number>, models: ModelPredictions[]): Promise<Plot> {
  const values: { model: string; truth: string; predicted: string; count: number }[] = [];
  for (const m of models) {
    const counts = new Map<string, number>();
    for (let i = 0; i < truth.length; i++) {
      const key = `${truth[i]}\0${m.predicted[i]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    classes.forEach((t, ti) => classes.forEach((p, pi) => {
      values.push({ model: m.label, truth: t, predicted: p, count: counts.get(`${ti}\0${pi}`) ?? 0 });
    }));
  }
  const title = `Confusion matrix on ${truth.length} holdout rows`;
  const svg = await render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, data: { values },
    facet: { column: { field: 'model', type: 'nominal', sort: order(models), title: null } },
    spec: {
      width: PANEL, height: PANEL,
      encoding: {
        x: { field: 'predicted', type: 'ordinal', sort: classes, title: 'predicted', axis: { labelAngle: 0 } },
        y: { field: 'truth', type: 'ordinal', sort: classes, title: 'true' },
      },
      layer: [
        { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' }, legend: null } } },
        { mark: { type: 'text', fontSize: 13 }, encoding: { text: { field: 'count', type: 'quantitative' } } },
      ],
    },
  });
  return { file: 'plots/confusion-matrix.svg', title, svg };
}

/** Regression: predicted against true (with the y = x line), and residuals against predicted. */
export async function regressionPlots(truth: ArrayLike<number>, models: ModelPredictions[]): Promise<Plot[]> {
  const { rows, note } = sampleRows(truth.length);
  // `first` marks one row per model: the reference lines are drawn from it once, not once per point.
  const values = models.flatMap((m) => rows.map((i) => {
    const predicted = Number(m.predicted[i]);
    return { model: m.label, truth: Number(truth[i]), predicted, residual: Number(truth[i]) - predicted, first: false };
  }).filter((v) => Number.isFinite(v.predicted)).map((v, j) => ({ ...v, first: j === 0 })));
  const once = [{ filter: 'datum.first' }];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) [lo, hi] = [Math.min(lo, v.truth, v.predicted), Math.max(hi, v.truth, v.predicted)];
  const facet = { column: { field: 'model', type: 'nominal' as const, sort: order(models), title: null } };
  const point = { type: 'point' as const, filled: true, size: 12, opacity: 0.5 };
  const vsTitle = `Predicted vs true on ${truth.length} holdout rows${note}`;
  const resTitle = `Residuals (true - predicted) vs predicted${note}`;
  const [vsTrue, residuals] = await Promise.all([
    render({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: vsTitle, data: { values }, facet,
      spec: {
        width: PANEL, height: PANEL,
        layer: [
          { mark: point, encoding: { x: { field: 'truth', type: 'quantitative', title: 'true', scale: { domain: [lo, hi] } }, y: { field: 'predicted', type: 'quantitative', scale: { domain: [lo, hi] } } } },
          {
            transform: once,
            mark: { type: 'rule', color: 'gray', strokeDash: [4, 4] },
            encoding: { x: { datum: lo }, y: { datum: lo }, x2: { datum: hi }, y2: { datum: hi } },
          },
        ],
      },
    }),
    render({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: resTitle, data: { values }, facet,
      spec: {
        width: PANEL, height: PANEL,
        layer: [
          { mark: point, encoding: { x: { field: 'predicted', type: 'quantitative' }, y: { field: 'residual', type: 'quantitative' } } },
          { transform: once, mark: { type: 'rule', color: 'gray', strokeDash: [4, 4] }, encoding: { y: { datum: 0 } } },
        ],
      },
    }),
  ]);
  return [
    { file: 'plots/predicted-vs-true.svg', title: vsTitle, svg: vsTrue },
    { file: 'plots/residuals.svg', title: resTitle, svg: residuals },
  ];
}
