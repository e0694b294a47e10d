import type { Command } from 'commander';
import { connectClient } from '../connection.ts';

export function cancelCommand(program: Command): void {
  program
    .command('cancel <id>')
    .description('cancel a training: its processes are stopped, then its machine and its location are released')
    .action(async (id: string) => {
      const client = await connectClient();
      await client.workflow.getHandle(id).cancel();
      console.log(`cancellation requested for ${id}; cleanup runs before it ends ("pnpm cd4ml status ${id}")`);
    });
}
