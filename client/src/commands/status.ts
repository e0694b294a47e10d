import type { Command } from 'commander';

export function statusCommand(program: Command): void {
  program
    .command('status <id>')
    .description('what the Web UI shows of a run: its stage or how it ended, its steps with attempts and errors, its search attributes and link (id: train/<project>/<tag>)')
    .action(async (id: string) => {
      // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
      const { showStatus } = await import('../runs/show-status.ts');
      await showStatus(id);
    });
}
