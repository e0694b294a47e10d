import type { Command } from 'commander';
import { parsePort } from './parse-options.ts';

/** `--project penguins` or `--project penguins=<clone url>`, repeatable; the names are checked in the action (contracts load there). */
function collectProject(value: string, prev: Record<string, { repoUrl?: string }>): Record<string, { repoUrl?: string }> {
  const eq = value.indexOf('=');
  const name = eq < 0 ? value : value.slice(0, eq);
  const repoUrl = eq < 0 ? undefined : value.slice(eq + 1);
  if (repoUrl === '') throw new Error(`--project ${value}: the clone url after "=" is empty`);
  return { ...prev, [name]: repoUrl === undefined ? {} : { repoUrl } };
}

export function webhookCommand(program: Command): void {
  program
    .command('webhook')
    .description(
      'the CI webhook gateway: point a GitLab push webhook at /webhooks/gitlab/<project> (secret token) or a GitHub one at\n' +
        '/webhooks/github/<project> (secret, content type application/json). A pushed head commit whose message starts with\n' +
        '"trigger training <tag> [on <location>]" starts that training; "build image" builds the training image.\n' +
        'The secret comes from $CD4ML_WEBHOOK_SECRET.',
    )
    .requiredOption('--project <name[=url]>', 'a project it triggers, optionally with the clone url the workers use (repeatable)', collectProject, {})
    .option('--location <name>', 'location for commits that name none', 'local')
    .option('--port <n>', 'port to listen on', parsePort, 8787)
    .option('--host <h>', 'address to listen on', '0.0.0.0')
    .action(async (o: { project: Record<string, { repoUrl?: string }>; location: string; port: number; host: string }) => {
      const secret = process.env.CD4ML_WEBHOOK_SECRET ?? '';
      if (secret.length < 16) {
        throw new Error('set CD4ML_WEBHOOK_SECRET to the webhook\'s secret (16 characters or more), the same value as in GitLab or GitHub');
      }
      const [{ ProjectName }, { pino }, { connectClient }, { buildGateway, temporalStarters }] = await Promise.all([
        import('@cd4ml/contracts'), import('pino'), import('../connection.ts'), import('../webhook/gateway.ts'),
      ]);
      for (const name of Object.keys(o.project)) {
        if (!ProjectName.safeParse(name).success) throw new Error(`--project ${name}: "${name}" is not a project name (lower-case letters, digits, ".", "_" or "-")`);
      }
      const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', redact: ['req.headers'] });
      const client = await connectClient();
      const app = buildGateway({ secret, projects: o.project, location: o.location, starters: temporalStarters(client), logger });
      const address = await app.listen({ port: o.port, host: o.host });
      logger.info({ projects: Object.keys(o.project), location: o.location }, `webhook gateway listening on ${address}`);
      const stop = () => {
        void app.close().then(() => client.connection.close()).finally(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
