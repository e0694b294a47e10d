#!/usr/bin/env node
import { Command } from 'commander';
import { trainCommand } from './commands/train.ts';
import { statusCommand } from './commands/status.ts';
import { cancelCommand } from './commands/cancel.ts';
import { demoCommand } from './commands/demo.ts';
import { serveCommand } from './commands/serve.ts';
import { buildImageCommand } from './commands/build-image.ts';
import { nightlyCommand } from './commands/nightly.ts';
import { webhookCommand } from './commands/webhook.ts';
import { ciCommand } from './commands/ci.ts';
import { ec2Command } from './commands/ec2.ts';
import { sweepCommand } from './commands/sweep.ts';
import { initCommand } from './commands/init.ts';
import { checkCommand } from './commands/check.ts';
import { releaseCommand } from './commands/release.ts';
import { runsCommand } from './commands/runs.ts';
import { logsCommand } from './commands/logs.ts';

const program = new Command('cd4ml')
  .description(
    'Continuous delivery for ML on Temporal: train, gate and release models.\n' +
      'Talks to Temporal at $TEMPORAL_ADDRESS (default localhost:7233), namespace $TEMPORAL_NAMESPACE;\n' +
      'runs are visible in the Temporal Web UI (http://localhost:8233 for the dev server).',
  )
  .showHelpAfterError();

trainCommand(program);
sweepCommand(program);
buildImageCommand(program);
statusCommand(program);
cancelCommand(program);
demoCommand(program);
serveCommand(program);
nightlyCommand(program);
webhookCommand(program);
ciCommand(program);
ec2Command(program);
initCommand(program);
checkCommand(program);
releaseCommand(program);
runsCommand(program);
logsCommand(program);

try {
  await program.parseAsync();
} catch (err) {
  console.error(`cd4ml: ${(err as Error).message}`);
  process.exitCode = 1;
}
