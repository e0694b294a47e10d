import path from 'node:path';
import type { Command } from 'commander';
import { runDemo, stopDemo } from '../demo/run-demo.ts';

const home = () => path.resolve(process.env.CD4ML_HOME ?? '.cd4ml');

export function demoCommand(program: Command): void {
  const demo = program
    .command('demo')
    .description('run the example end to end on a local Temporal dev server (what "make demo" runs)')
    .option('--ui-port <port>', 'Web UI port', '8233')
    .action(async (o: { uiPort: string }) => {
      process.exitCode = await runDemo({
        home: home(),
        temporalBin: process.env.CD4ML_TEMPORAL_BIN ?? path.join(home(), 'bin', 'temporal'),
        venv: process.env.CD4ML_VENV ?? path.join(home(), 'venv'),
        uiPort: Number(o.uiPort),
      });
    });
  demo
    .command('stop')
    .description('stop the demo\'s Temporal dev server and workers')
    .action(async () => stopDemo(home()));
}
