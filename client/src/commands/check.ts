import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { ProjectConfig } from '@cd4ml/contracts';
import type { Finding } from '../project/check-outputs.ts';
import { PROJECT_EXIT } from './exit-codes.ts';

interface CheckOptions { dir: string; config: string; repro: boolean; dvc?: string }

export function checkCommand(program: Command): void {
  program
    .command('check')
    .description(
      'run the DVC pipeline once here (dvc repro, in place) and check its outputs against what cd4ml needs, naming each missing ' +
        'file or field and what to add (exit 0 ready, 1 dvc repro failed, 2 bad input: no dvc.yaml or cd4ml.yaml, or an invalid one, ' +
        '3 outputs not as cd4ml needs them)',
    )
    .option('--dir <folder>', 'the project folder, holding dvc.yaml and cd4ml.yaml', '.')
    .option('--config <path>', 'cd4ml.yaml, relative to --dir', 'cd4ml.yaml')
    .option('--no-repro', 'check the outputs that are there, without running dvc repro')
    .option('--dvc <path>', 'the dvc to run (default: dvc on PATH, else $CD4ML_VENV/bin/dvc)')
    .action(async (o: CheckOptions) => {
      process.exitCode = await runCheck(o);
    });
}

// The project code (the gate, onnxruntime) is loaded in the action, not at the top: registering commands stays cheap (see cli.ts).
async function loadConfig(dir: string, rel: string): Promise<ProjectConfig> {
  const [{ ConfigError, parseProjectConfig }, { ProjectInputError }] = await Promise.all([import('@cd4ml/contracts'), import('../project/dvc-pipeline.ts')]);
  const file = path.join(dir, rel);
  if (!existsSync(file)) throw new ProjectInputError(`${file} not found: write one with \`cd4ml init\` (or name it with --config)`);
  try {
    return parseProjectConfig(await readFile(file, 'utf8'), rel);
  } catch (err) {
    if (err instanceof ConfigError) throw new ProjectInputError(err.message);
    throw err;
  }
}

async function runCheck(o: CheckOptions): Promise<number> {
  const [{ readDvcPipeline, ProjectInputError }, { checkDeclaredOutputs, checkOutputFiles, checkWithGate }] = await Promise.all([
    import('../project/dvc-pipeline.ts'), import('../project/check-outputs.ts'),
  ]);
  const dir = path.resolve(o.dir);
  let findings: Finding[];
  try {
    const pipeline = await readDvcPipeline(dir);
    const config = await loadConfig(dir, o.config);
    findings = checkDeclaredOutputs(pipeline, config);
    print(findings);
    if (findings.some((f) => !f.passed)) return PROJECT_EXIT.outputsInvalid;
    if (o.repro && !(await repro(dir, o.dvc))) return PROJECT_EXIT.failed;
    const files = await checkOutputFiles(dir, config);
    print(files.findings);
    findings = files.findings;
    if (files.parsed) {
      const gate = await checkWithGate(dir, config, files.parsed);
      print(gate);
      findings = [...findings, ...gate];
    }
  } catch (err) {
    if (err instanceof ProjectInputError) {
      console.error(`cd4ml check: ${err.message}`);
      return PROJECT_EXIT.badInput;
    }
    throw err;
  }
  const failed = findings.filter((f) => !f.passed);
  if (failed.length) {
    console.log(`\n${failed.length} problem${failed.length > 1 ? 's' : ''}: fix ${failed.length > 1 ? 'them' : 'it'} and run \`cd4ml check\` again`);
    return PROJECT_EXIT.outputsInvalid;
  }
  console.log('\nready: commit cd4ml.yaml (and dvc.lock), push, then `cd4ml train --repo <git url> --project <name> --tag v1.0`');
  return PROJECT_EXIT.ok;
}

function print(findings: Finding[]): void {
  for (const f of findings) {
    console.log(`${f.passed ? (f.warn ? 'WARN' : 'ok  ') : 'FAIL'} ${f.what}: ${f.detail}`);
    if (f.snippet && (!f.passed || f.warn)) console.log(`  what to add:\n${f.snippet}`);
  }
}

/** dvc on PATH, else the venv cd4ml's own workers use. */
function dvcBinary(given?: string): string {
  if (given) return given;
  const venv = process.env.CD4ML_VENV;
  const onPath = (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, 'dvc')));
  return !onPath && venv ? path.join(venv, 'bin', 'dvc') : 'dvc';
}

/** `dvc repro` in place, as a DVC user runs it; its output goes through. False when it failed. */
async function repro(dir: string, given?: string): Promise<boolean> {
  const dvc = dvcBinary(given);
  const { execa } = await import('execa');
  console.log(`running ${dvc} repro in ${dir}`);
  const run = await execa(dvc, ['repro'], { cwd: dir, stdin: 'ignore', stdout: ['pipe', 'inherit'], stderr: ['pipe', 'inherit'], reject: false, env: { DVC_NO_ANALYTICS: '1' } });
  if (run.failed) {
    const why = run.code === 'ENOENT' ? `${dvc} not found: activate the project's virtualenv, or pass --dvc <path>` : `exit ${run.exitCode}`;
    console.log(`FAIL dvc repro: ${why}; fix the stage above and run \`cd4ml check\` again`);
    return false;
  }
  return true;
}
