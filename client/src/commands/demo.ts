import path from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_PORT, EXAMPLES, type ExampleName } from '../demo/defaults.ts';

const home = () => path.resolve(process.env.CD4ML_HOME ?? '.cd4ml');

export function demoCommand(program: Command): void {
  const demo = program
    .command('demo')
    .description('run the example end to end on a local Temporal dev server (what "make demo" runs)')
    .option('--port <port>', 'port of the demo\'s own Temporal dev server ($CD4ML_DEMO_PORT)', process.env.CD4ML_DEMO_PORT ?? String(DEFAULT_PORT))
    .option('--ui-port <port>', 'Web UI port (default: the server\'s port + 1000)')
    .addOption(new Option('--example <name>', 'the example project to train').choices(EXAMPLES).default('penguins'))
    .action(async (o: { port: string; uiPort?: string; example: ExampleName }) => {
      const port = portNumber(o.port, '--port');
      const { runDemo } = await import('../demo/run-demo.ts');
      process.exitCode = await runDemo({
        port,
        example: o.example,
        home: home(),
        temporalBin: process.env.CD4ML_TEMPORAL_BIN ?? path.join(home(), 'bin', 'temporal'),
        venv: process.env.CD4ML_VENV ?? path.join(home(), 'venv'),
        uiPort: o.uiPort ? portNumber(o.uiPort, '--ui-port') : port + 1000,
      });
    });
  demo
    .command('stop')
    .description('stop the demo\'s Temporal dev server and workers')
    .action(async () => (await import('../demo/run-demo.ts')).stopDemo(home()));
}

function portNumber(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64535) throw new Error(`${what} must be a port number (1-64535), not "${text}"`);
  return n;
}
