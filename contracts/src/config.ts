import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { artifactUrl } from './release.ts';
import { GateConfig } from './gate.ts';
import { RolloutConfig } from './serving-state.ts';
import { SweepConfig } from './sweep-config.ts';

// cd4ml.yaml: one file in the ML project's repository. Secrets never go here;
// the file names environment variables where a secret is needed.

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 90s, 15m or 2h');

export const LocalLocation = z.object({
  provider: z.literal('local'),
  /** Longest a training may hold the location (runaway guard). */
  maxRuntime: duration.default('2h'),
}).strict();

export const Ec2Location = z.object({
  provider: z.literal('ec2'),
  region: z.string(),
  /** An EC2-compatible endpoint (the tests use moto). Default: AWS. */
  endpoint: z.string().url().optional(),
  /** A person's own instance: started for a training, stopped after it. */
  instanceId: z.string().regex(/^i-[0-9a-f]+$/, 'an instance id such as i-0abc1234').optional(),
  /** Or launched per training and terminated after it: a template (name, lt-id, optionally :version)... */
  launchTemplate: z.string().optional(),
  /** ...or an AMI, with cd4ml's user-data script bringing the location worker up. */
  imageId: z.string().optional(),
  /**
   * Whose user data a launched instance boots with: `cd4ml` (the default) sends cd4ml's script,
   * replacing a template's own; `template` keeps the launch template's (render cd4ml's for it
   * with `cd4ml ec2 user-data`).
   */
  userData: z.enum(['cd4ml', 'template']).optional(),
  /** Tried in order; on a capacity error the next one is used. */
  instanceTypes: z.array(z.string()).default([]),
  /**
   * Spot first, on-demand if spot has no capacity. A reclaimed spot instance is replaced and the
   * training resumes; after `maxInterruptions` (default 2) the replacement is on-demand.
   */
  spot: z.union([z.boolean(), z.object({ maxInterruptions: z.number().int().min(0).default(2) }).strict()]).default(false),
  /** USD per hour, for the cost estimate in results and releases. */
  hourlyPrice: z.number().nonnegative().optional(),
  maxRuntime: duration.default('8h'),
  /** How long after the instance runs its location worker may take to poll. */
  workerStartTimeout: duration.default('10m'),
  /** The reaper leaves an instance alone this long after its training ended (cleanup may be under way). */
  reaperGrace: duration.default('5m'),
  // Launched instances only; each overrides the launch template's value where one is used.
  /** Instance profile (name, or its arn:...), so the worker has credentials (S3 store, registry) from the instance role. */
  iamInstanceProfile: z.string().min(1).optional(),
  /** The subnet to launch in (it decides the VPC and zone, and so the route to Temporal). */
  subnetId: z.string().regex(/^subnet-[0-9a-f]+$/, 'a subnet id such as subnet-0abc1234').optional(),
  /** Or several, tried in order on a capacity error (one per zone: the zone fallback). */
  subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'a subnet id such as subnet-0abc1234')).min(1).optional(),
  securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/, 'a security group id such as sg-0abc1234')).min(1).optional(),
  /** An EC2 key pair, for ssh to the instance. */
  keyName: z.string().min(1).optional(),
  /** Size of the root volume (the persistent checkout and the data live there). */
  rootVolumeGiB: z.number().int().positive().max(65536).optional(),
}).strict().superRefine((l, ctx) => {
  const ways = [l.instanceId, l.launchTemplate, l.imageId].filter(Boolean).length;
  if (ways !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ways === 0 ? [] : ['instanceId'],
      message: ways === 0
        ? 'name the machine: instanceId (an existing instance), launchTemplate or imageId'
        : 'use only one of instanceId, launchTemplate and imageId',
    });
  }
  if (l.instanceId && (l.spot || l.instanceTypes.length > 0)) {
    ctx.addIssue({ code: 'custom', path: ['instanceId'], message: 'spot and instanceTypes apply to launched instances, not to an existing instanceId' });
  }
  if (l.userData && (l.instanceId || (l.userData === 'template' && !l.launchTemplate))) {
    ctx.addIssue({
      code: 'custom', path: ['userData'],
      message: l.instanceId
        ? 'applies to launched instances; run `cd4ml ec2 user-data` once on your own instance instead'
        : 'applies with a launchTemplate; a bare imageId always boots with cd4ml\'s user data',
    });
  }
  if (l.subnetId && l.subnetIds) {
    ctx.addIssue({ code: 'custom', path: ['subnetIds'], message: 'use subnetId or subnetIds, not both' });
  }
  const launchOnly = (['iamInstanceProfile', 'subnetId', 'subnetIds', 'securityGroupIds', 'keyName', 'rootVolumeGiB'] as const).filter((k) => l[k] !== undefined);
  if (l.instanceId && launchOnly.length) {
    ctx.addIssue({ code: 'custom', path: [launchOnly[0]!], message: `${launchOnly.join(', ')} apply to launched instances, not to an existing instanceId` });
  }
});
export type Ec2LocationConfig = z.infer<typeof Ec2Location>;

export const LocationConfig = z.discriminatedUnion('provider', [LocalLocation, Ec2Location]);
export type LocationConfig = z.infer<typeof LocationConfig>;
/** A location that launches an instance per training (launchTemplate or imageId), so trainings need not share one machine. */
export const launchesInstances = (l: LocationConfig): boolean => l.provider === 'ec2' && !l.instanceId;


export const OutputsConfig = z.object({
  model: z.string().default('model/model.onnx'),
  metrics: z.string().default('metrics.json'),
  smoke: z.string().default('model/smoke.json'),
  holdout: z.string().default('model/holdout.json'),
}).strict();
export type OutputsConfig = z.infer<typeof OutputsConfig>;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable, e.g. CD4ML_REGISTRY_PASSWORD');

/** How the location runs `dvc repro` inside the training image. */
export const ImageRunConfig = z.object({
  engine: z.enum(['docker', 'podman']).default('docker'),
  /** GPUs to pass through: "all", a count, or "device=0,1" (docker --gpus; podman CDI nvidia.com/gpu). */
  gpus: z.string().optional(),
  /** More `run` arguments, e.g. ["--shm-size", "8g"]. */
  args: z.array(z.string()).default([]),
}).strict();
export type ImageRunConfig = z.infer<typeof ImageRunConfig>;

/** The training image: built on the control worker when its content changes, pushed to an OCI registry. */
export const ImageConfig = z.object({
  /** Paths relative to the folder holding cd4ml.yaml, like every other path in this file. */
  dockerfile: z.string().default('Dockerfile'),
  context: z.string().default('.'),
  /** registry/name without a tag, e.g. registry.gitlab.com/team/penguins/train or localhost:5000/penguins. */
  repository: z.string().regex(
    /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*$/,
    'an image repository without a tag, e.g. registry.example.com/team/penguins (lower-case)',
  ),
  builder: z.enum(['buildah', 'kaniko', 'docker']).default('buildah'),
  /** Plain http to the registry; a loopback registry (localhost, 127.0.0.1) always is. */
  insecure: z.boolean().default(false),
  /** Environment variables on the control worker that hold the registry login. */
  credentials: z.object({ usernameEnv: envName, passwordEnv: envName }).strict().optional(),
  buildTimeout: duration.default('1h'),
  run: ImageRunConfig.default({ engine: 'docker', args: [] }),
}).strict();
export type ImageConfig = z.infer<typeof ImageConfig>;

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'an http(s) url such as https://gitlab.example.com' })
  // Credentials in a url end up in logs and history: they belong in the token variable.
  .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'no user or password in the url: name a token variable in gitlab.tokenEnv');

export const GitLabConfig = z.object({
  /** The GitLab instance, without /api/v4. */
  url: httpUrl.default('https://gitlab.com'),
  /** The project holding the release pages: its path (group/name) or numeric id. */
  project: z.union([
    z.number().int().positive(),
    z.string().regex(/^(\d+|[\w.-]+(\/[\w.-]+)+)$/, 'a project path such as group/name, or its numeric id'),
  ]),
  /** The environment variable on the control worker that holds a token with the Developer role and api scope. */
  tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as GITLAB_TOKEN (the token itself goes in that variable)')
    .default('GITLAB_TOKEN'),
  token: z.never({ error: 'secrets never go in cd4ml.yaml: put the token in an environment variable and name it in gitlab.tokenEnv' }).optional(),
  /**
   * Where the release store is served over http(s): links point to <artifactsUrl>/<project>/<tag>/<file>.
   * Needed for a folder store; an s3:// store links to the S3 console without it.
   */
  artifactsUrl: httpUrl.optional(),
  /** Longest one GitLab API call may take. */
  timeout: duration.default('30s'),
}).strict();
export type GitLabConfig = z.infer<typeof GitLabConfig>;

/**
 * `invalid <what>:` and a line per problem, path first (`root` when the problem is
 * the whole input): how a request that fails its schema is reported everywhere.
 */
export function describeInvalid(what: string, issues: readonly { path: readonly PropertyKey[]; message: string }[], root = ''): string {
  return `invalid ${what}:\n${issues.map((i) => `  - ${i.path.map(String).join('.') || root}: ${i.message}`).join('\n')}`;
}

/** A project's name: cd4ml.yaml's `project`, the first part of ids and store keys. */
export const ProjectName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" or "-"');
/** A location's name: a key of cd4ml.yaml's `locations`. */
export const LocationName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits or "-"');

export const ProjectConfig = z.object({
  project: ProjectName,
  outputs: OutputsConfig.default(OutputsConfig.parse({})),
  gate: GateConfig.default(GateConfig.parse({})),
  locations: z.record(LocationName, LocationConfig)
    .refine((l) => Object.keys(l).length > 0, 'at least one location'),
  image: ImageConfig.optional(),
  /** Release store override: a folder or s3://bucket/prefix. Default: the control worker's. */
  store: z.string().optional(),
  repro: z.object({
    timeout: duration.default('2h'),
    /**
     * A folder (relative to the DVC project) the training writes checkpoints to: saved to the
     * store when a spot instance is reclaimed and put back on the replacement before dvc repro.
     */
    checkpoint: z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$)).+$/, 'a folder inside the project, such as model/checkpoints').optional(),
  }).strict().default({ timeout: '2h' }),
  /** A GitLab release page for each release (optional). */
  gitlab: GitLabConfig.optional(),
  /** How `cd4ml release promote` rolls a release out (canary, shadow or direct). */
  serving: z.object({ rollout: RolloutConfig.optional() }).strict().optional(),
  /** Named parameter sweeps (`cd4ml sweep --sweep <name>`). */
  sweeps: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits or "-"'), SweepConfig).optional(),
}).strict().superRefine((c, ctx) => {
  for (const [name, sweep] of Object.entries(c.sweeps ?? {})) {
    for (const [i, l] of (sweep.locations ?? []).entries()) {
      if (!c.locations[l]) ctx.addIssue({ code: 'custom', path: ['sweeps', name, 'locations', i], message: `no location "${l}" in locations` });
    }
  }
  // The default store is known only on the worker: resolveTraining checks that case.
  if (c.gitlab && c.store && !artifactUrl(c.store, c.project, c.gitlab.artifactsUrl)) {
    ctx.addIssue({ code: 'custom', path: ['gitlab', 'artifactsUrl'], message: artifactsUrlNeeded(c.store) });
  }
});
export type ProjectConfig = z.infer<typeof ProjectConfig>;

/** Why a folder store needs gitlab.artifactsUrl: GitLab links only http(s) urls. */
export const artifactsUrlNeeded = (store: string): string =>
  `required with a folder store (${store}): GitLab links only http(s) urls; give the url where the folder is served`;

export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates cd4ml.yaml text; every problem names its path and what was expected. */
export function parseProjectConfig(text: string, file = 'cd4ml.yaml'): ProjectConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const result = ProjectConfig.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(
      file,
      result.error.issues.map((i) => {
        const where = i.path.length ? i.path.join('.') : '(top level)';
        // A bad record key (a location name): say what a name must look like, not just "invalid key".
        if (i.code === 'invalid_key') return `${where}: not a valid name: ${i.issues.map((k) => k.message).join('; ')}`;
        return `${where}: ${i.message}`;
      }),
    );
  }
  return result.data;
}

/** "90s" | "15m" | "2h" -> milliseconds */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  const n = Number(m[1]);
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}
