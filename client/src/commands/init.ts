import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { DvcPipeline } from '../project/dvc-pipeline.ts';
import type { Field, InitAnswers, InitFlags } from '../project/infer-config.ts';
import { nonNegative } from './parse-options.ts';
import { PROJECT_EXIT } from './exit-codes.ts';


export function initCommand(program: Command): void {
  program
    .command('init')
    .description(
      'write a commented cd4ml.yaml for an existing DVC project, inferred from dvc.yaml, params.yaml and the metrics files; ' +
        'asks only on a terminal, and only what it cannot infer (exit 0 written, 2 bad input: no dvc.yaml, cd4ml.yaml exists, a bad flag)',
    )
    .option('--dir <folder>', 'the project folder, holding dvc.yaml', '.')
    .option('--project <name>', 'project name (default: the folder\'s name)')
    .option('--model <path>', 'the ONNX model the pipeline writes (default: the one .onnx out in dvc.yaml)')
    .option('--metrics <path>', 'the metrics file (default: the JSON metrics of dvc.yaml)')
    .option('--smoke <path>', 'the smoke set (default: the smoke*.json out)')
    .option('--holdout <path>', 'the holdout set (default: the holdout*.json out)')
    .option('--task <kind>', 'classification or regression (default: from the holdout or metrics file)')
    .option('--metric <name>', 'the gate metric (default: the first one the metrics file reports)')
    .option('--margin <n>', 'not-worse margin in the metric\'s units', nonNegative('--margin'))
    .option('--location <name>', 'name of the local training location', 'local')
    .option('--force', 'overwrite an existing cd4ml.yaml')
    .option('--yes', 'never ask, even on a terminal: take what is inferred')
    .action(async (o: InitFlags & { dir: string; force?: boolean; yes?: boolean }) => {
      process.exitCode = await runInit(o);
    });
}

const PROMPTED: Field[] = ['project', 'model', 'metrics', 'smoke', 'holdout', 'task', 'metric', 'margin'];

async function runInit(o: InitFlags & { dir: string; force?: boolean; yes?: boolean }): Promise<number> {
  // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
  const [{ readDvcPipeline, missingParams, ProjectInputError }, { inferConfig }, { renderConfig }] = await Promise.all([
    import('../project/dvc-pipeline.ts'), import('../project/infer-config.ts'), import('../project/render-config.ts'),
  ]);
  const dir = path.resolve(o.dir);
  const target = path.join(dir, 'cd4ml.yaml');
  try {
    const pipeline = await readDvcPipeline(dir);
    if (existsSync(target) && !o.force) throw new ProjectInputError(`${target} exists already: edit it, or pass --force to write a new one`);
    const flags: InitFlags = { ...o };
    let answers = inferConfig(pipeline, flags);
    const interactive = !o.yes && process.stdin.isTTY && process.stdout.isTTY;
    if (interactive) answers = await askOpenQuestions(pipeline, flags, answers, inferConfig);
    // Picking one of several models silently would gate the wrong one.
    if (answers.model.choices && !flags.model) {
      throw new ProjectInputError(`several ONNX files in dvc.yaml (${answers.model.choices!.join(', ')}): name the model with --model`);
    }
    await writeFile(target, renderConfig(answers, pipeline));
    report(target, answers, missingParams(pipeline));
    return PROJECT_EXIT.ok;
  } catch (err) {
    if (err instanceof ProjectInputError) {
      console.error(`cd4ml init: ${err.message}`);
      return PROJECT_EXIT.badInput;
    }
    throw err;
  }
}

/** On a terminal: one question per value that was guessed or had several candidates; the answers become flags. */
async function askOpenQuestions(
  pipeline: DvcPipeline, flags: InitFlags, first: InitAnswers, inferConfig: (p: DvcPipeline, f: InitFlags) => InitAnswers,
): Promise<InitAnswers> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  let answers = first;
  try {
    for (const f of PROMPTED) {
      const a = answers[f];
      if (flags[f] !== undefined || (!a.guessed && !a.choices)) continue;
      const options = a.choices ? ` (${a.choices.join(', ')})` : '';
      const reply = (await rl.question(`${f}${options} [${a.value}]: `)).trim();
      (flags as Record<string, unknown>)[f] = f === 'margin' ? nonNegative('margin')(reply || String(a.value)) : reply || String(a.value);
      // Later answers (metric, margin) follow from earlier ones (task): infer again.
      answers = inferConfig(pipeline, flags);
    }
  } finally {
    rl.close();
  }
  return answers;
}

function report(target: string, a: InitAnswers, params: { stage: string; param: string }[]): void {
  console.log(`wrote ${target}`);
  for (const f of PROMPTED) {
    const x = a[f];
    console.log(`  ${x.guessed ? 'GUESSED' : 'ok     '} ${f}: ${x.value}  (${x.from}${x.guessed ? `; set it with --${f}` : ''})`);
  }
  for (const p of params) console.log(`  warning: dvc.yaml stage ${p.stage} names param ${p.param}, which params.yaml does not have`);
  console.log('next: `cd4ml check` runs the pipeline once and checks its outputs against what cd4ml needs');
}
