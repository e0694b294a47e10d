import type { Command } from 'commander';

export function cancelCommand(program: Command): void {
  program
    .command('cancel <id>')
    .description('cancel a training: its processes are stopped, then its machine and its location are released')
    .action(async (id: string) => {
      const { connectClient } = await import('../connection.ts');
      const client = await connectClient();
      await client.workflow.getHandle(id).cancel();
      console.log(`cancellation requested for ${id}; cleanup runs before it ends ("pnpm cd4ml status ${id}")`);
    });
}
