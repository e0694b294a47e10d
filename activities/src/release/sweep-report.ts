import { describeSetting, metricCell, usd, type SweepReport } from '@cd4ml/contracts';
import { render, type Plot } from '../gate/plots.ts';

// A sweep's release: its report has every trial's row and a plot of the gate metric
// per setting, so a reviewer sees what the released setting was chosen from.

export const SWEEP_PLOT = 'plots/sweep-metric.svg';

/** The gate metric of every measured trial, one bar per setting; the released one stands out. */
export async function sweepPlot(report: SweepReport): Promise<Plot> {
  const values = report.trials.filter((t) => typeof t.metric === 'number').map((t) => ({
    setting: `${t.n}: ${describeSetting(t.setting)}`, metric: t.metric!, state: t.state,
  }));
  const unmeasured = report.trials.length - values.length;
  const title = `${report.metric} per setting, measured by cd4ml on the holdout (${values.length} of ${report.trials.length} trials${unmeasured ? `; ${unmeasured} without a measurement` : ''})`;
  const svg = await render({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, data: { values }, width: 420, height: { step: 22 },
    encoding: {
      // Settings are the labels: never cut them short.
      y: { field: 'setting', type: 'nominal', sort: null, title: null, axis: { labelLimit: 0 } },
      x: { field: 'metric', type: 'quantitative', title: report.metric, scale: { zero: false } },
    },
    layer: [
      {
        mark: 'bar',
        encoding: {
          color: {
            field: 'state', type: 'nominal', title: 'trial',
            scale: { domain: ['released', 'discarded', 'rejected'], range: ['#2a7a2a', '#9db4c8', '#d08770'] },
          },
        },
      },
      { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { text: { field: 'metric', type: 'quantitative', format: '.4' } } },
    ],
  });
  return { file: SWEEP_PLOT, title, svg };
}

/** The report's sweep section: the trial table, the spend against the budget, why trials did not count, and the plot. */
export function sweepSection(report: SweepReport, plotFile: string): string[] {
  const spend = report.spent === null ? '' : ` Spent ${usd(report.spent)}${report.budget === null ? '' : ` of the budget ${usd(report.budget)}`}.`;
  const notes = report.trials.filter((t) => t.reason).map((t) => `- trial ${t.n} ${t.state}: ${t.reason}`);
  return [
    `## Sweep: trial ${report.best} of ${report.trials.length}, the best accepted by ${report.metric}`,
    '',
    `\`${report.workflowId}\`, ${report.parallel} at a time; ${report.metric} as cd4ml measured it on the holdout (${report.higherIsBetter ? 'higher' : 'lower'} is better).${spend}`,
    '',
    `| # | setting | state | ${report.metric} | cost | machine |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...report.trials.map((t) => `| ${t.n} | ${describeSetting(t.setting)} | ${t.state} | ${metricCell(t)} | ${typeof t.cost === 'number' ? usd(t.cost) : '-'} | ${t.machine ?? '-'} |`),
    '',
    ...(notes.length ? [...notes, ''] : []),
    `![${report.metric} per setting](${plotFile})`,
    '',
  ];
}
