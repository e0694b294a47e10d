import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../harness/stack.ts';
import { InstalledCli } from '../harness/installed-cli.ts';
import { freePort } from '../harness/free-port.ts';
import { REPO_ROOT } from '../harness/paths.ts';

/** The packed CLI installed with npm into an empty folder outside the repository (issue 16); real Temporal, dvc and git. */
describe('the installed cd4ml command', () => {
  let cli: InstalledCli;
  let stack: Stack;
  const temporal = () => ({ TEMPORAL_ADDRESS: stack.env.address });

  beforeAll(async () => {
    cli = await InstalledCli.install();
    stack = await Stack.start();
    await stack.example.create();
    await stack.spawnWorker('control', 'local', {}, { built: true });
    await stack.spawnWorker('location', 'local', {}, { built: true });
  }, 900_000);
  afterAll(async () => {
    await stack?.stop();
    await cli?.remove();
  });

  it('is installed outside the repository and answers --help', async () => {
    expect(cli.dir.startsWith(REPO_ROOT)).toBe(false);
    const help = await cli.run(['--help']);
    expect(help.exitCode, help.all).toBe(0);
    expect(help.all).toContain('Usage: cd4ml');
    for (const command of ['train', 'status', 'ci', 'serve', 'webhook']) expect(help.all).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('shows the status of a real training while it runs and once it has ended', async () => {
    const handle = await stack.startTraining({ releaseTag: 'v1.0' });
    const during = await cli.run(['status', 'train/penguins/v1.0'], temporal());
    expect(during.exitCode, during.all).toBe(0);
    expect(during.all).toMatch(/^train\/penguins\/v1\.0: /m);
    expect((await handle.result()).decision).toBe('accepted');
    const after = await cli.run(['status', 'train/penguins/v1.0'], temporal());
    expect(after.exitCode, after.all).toBe(0);
    expect(after.all).toMatch(/^train\/penguins\/v1\.0: completed$/m);
    expect(after.all).toMatch(/^ACCEPTED: v1\.0/m);
    const missing = await cli.run(['status', 'train/penguins/nope'], temporal());
    expect(missing.exitCode).toBe(1);
    expect(missing.all).toContain('no run with id train/penguins/nope');
  });

  it('runs "cd4ml ci" in a GitLab CI job on a copy of the example', async () => {
    const head = (await stack.example.run('git', 'rev-parse', 'HEAD')).trim();
    const job = (message: string) => cli.run(['ci', '--repo', stack.example.repoUrl, '--project', 'penguins'], {
      ...temporal(), CI: 'true', GITLAB_CI: 'true', CI_COMMIT_MESSAGE: message, CI_COMMIT_SHA: head, CI_COMMIT_BRANCH: 'main', GITLAB_USER_LOGIN: 'bob',
    });
    const nothing = await job('docs: typo');
    expect(nothing.exitCode, nothing.all).toBe(0);
    expect(nothing.all).toContain('nothing to do');
    const run = await job('trigger training v1.1\n\nretrain after the nightly');
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).toMatch(/^started train\/penguins\/v1\.1$/m);
    expect(run.all).toMatch(/^ACCEPTED: v1\.1/m);
    expect(stack.released('v1.1')).toBe(true);
  });

  it('names TEMPORAL_ADDRESS when Temporal is not there, and suggests the closest command or flag', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const down = await cli.run(['status', 'train/penguins/v1.0'], { TEMPORAL_ADDRESS: address });
    expect(down.exitCode).toBe(1);
    expect(down.all).toContain(`cannot reach Temporal at ${address} (TEMPORAL_ADDRESS)`);

    const typo = await cli.run(['stauts', 'train/penguins/v1.0']);
    expect(typo.exitCode).toBe(1);
    expect(typo.all).toContain("unknown command 'stauts'");
    expect(typo.all).toContain('(Did you mean status?)');
    expect(typo.all).toContain('Usage: cd4ml [options] [command]');

    const flag = await cli.run(['check', '--dri', '.']);
    expect(flag.exitCode).toBe(1);
    expect(flag.all).toContain("unknown option '--dri'");
    expect(flag.all).toContain('(Did you mean --dir?)');
    expect(flag.all).toContain('Usage: cd4ml check [options]');
  });
});
