import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReleaseManifest } from '@cd4ml/contracts';
import { Stack } from '../harness/stack.ts';
import { Registry } from '../harness/registry.ts';
import { podmanConfig, pushBaseImage } from '../harness/training-base.ts';

const IMAGE = 'cd4ml/penguins-train';

interface PodmanEvent { Type?: string; Name?: string; Image?: string; Status?: string; ContainerExitCode?: number }

describe('training inside the training image: buildah builds it, podman runs dvc repro in it (real registry, Temporal, dvc)', () => {
  let stack: Stack;
  let registry: Registry;
  let podmanDir: string;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    [stack, registry] = await Promise.all([Stack.start(), Registry.start()]);
    podmanDir = path.join(stack.dir, 'podman');
    // The location worker runs in this process; podman, its child, reads the machine's configuration from these.
    const podmanEnv = await podmanConfig(podmanDir);
    for (const [k, v] of Object.entries(podmanEnv)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const base = await pushBaseImage(registry.host, podmanEnv, (line) => console.log(line));

    await stack.example.create();
    await writeFile(path.join(stack.example.workDir, 'Dockerfile'), [
      `FROM ${base}`,
      'COPY requirements.txt /opt/requirements.txt',
      // The base holds them already: this checks it, offline.
      'RUN /opt/venv/bin/pip install --no-index -q -r /opt/requirements.txt',
      'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '',
    ].join('\n'));
    const config = await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8');
    await stack.example.writeFile('cd4ml.yaml', `${config}
image:
  repository: ${registry.host}/${IMAGE}
  insecure: true
  run:
    engine: podman
    args: ["--network", "host", "--tls-verify=false"]
`, 'image: train in a container built from the Dockerfile');
    await stack.startControlWorker();
    await stack.startLocationWorker();
  }, 600_000);
  afterAll(async () => {
    await stack?.stop();
    await registry?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('builds the image of the commit, runs dvc repro in it, gates and releases the model', async () => {
    const result = await stack.train({ releaseTag: 'v1.0' });
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(result.image).toMatchObject({ built: true, ref: expect.stringMatching(new RegExp(`^${registry.host}/${IMAGE}:[0-9a-f]+$`)) });
    const digest = result.image!.digest;
    expect(await registry.digest(IMAGE, 'main')).toBe(digest);

    // podman ran exactly one container, from the image pinned by digest, and dvc repro in it succeeded.
    const events = (await readFile(path.join(podmanDir, 'events.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as PodmanEvent)
      .filter((e) => e.Type === 'container');
    const died = events.filter((e) => e.Status === 'died');
    expect(died).toEqual([expect.objectContaining({ Name: expect.stringMatching(/^cd4ml-repro-[0-9a-f]{12}$/), Image: `${registry.host}/${IMAGE}@${digest}` })]);
    expect(died[0]!.ContainerExitCode ?? 0).toBe(0); // podman leaves out an exit code of 0
    expect(new Set(events.filter((e) => e.Status === 'remove').map((e) => e.Name))).toEqual(new Set([died[0]!.Name]));
    const left = await execa('podman', ['ps', '--all', '--format', '{{.Names}}']);
    expect(left.stdout.trim()).toBe('');

    const manifest = ReleaseManifest.parse(JSON.parse(await readFile(path.join(stack.releaseDir('v1.0'), 'release.json'), 'utf8')));
    expect(manifest.image).toEqual({ ref: result.image!.ref, digest });
    expect(manifest.model.classes).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
  }, 480_000); // a buildah build and a container run: minutes on a busy 2-core machine
});
