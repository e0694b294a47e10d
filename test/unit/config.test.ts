import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ImageRequest, TrainingRequest, durationMs, parseProjectConfig } from '@cd4ml/contracts';

const EXAMPLE_CONFIG = new URL('../../examples/penguins/cd4ml.yaml', import.meta.url);

/** The smallest valid config, for the invalid cases to start from. */
const VALID = 'project: penguins\nlocations:\n  local:\n    provider: local\n';

const configError = (text: string, file?: string): ConfigError => {
  try {
    parseProjectConfig(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
};

describe('parseProjectConfig', () => {
  it('accepts the example project and fills in the defaults', () => {
    const config = parseProjectConfig(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    expect(config.project).toBe('penguins');
    expect(config.locations).toEqual({ local: { provider: 'local', maxRuntime: '2h' } });
    expect(config.outputs).toEqual({
      model: 'model/model.onnx', metrics: 'metrics.json', smoke: 'model/smoke.json', holdout: 'model/holdout.json',
    });
    // Given in the file:
    expect(config.gate).toMatchObject({ metric: 'accuracy', higherIsBetter: true, margin: 0.02 });
    // Defaults:
    expect(config.gate).toMatchObject({
      classBalanceTolerance: 0.1,
      foldOutlierMaxDeviation: 0.1,
      probabilitySumTolerance: 1e-3,
      probabilitiesOutput: 'probabilities',
      labelOutput: 'label',
    });
    expect(config.repro).toEqual({ timeout: '2h', checkpoint: 'checkpoints/train' });
    expect(config.image).toBeUndefined();
    expect(config.store).toBeUndefined();
  });

  it('fills in every default from the smallest config', () => {
    const config = parseProjectConfig(VALID);
    expect(config.outputs.model).toBe('model/model.onnx');
    expect(config.gate.margin).toBe(0.02);
    expect(config.gate.metric).toBe('accuracy');
    expect(config.repro.timeout).toBe('2h');
  });

  it('fills in image defaults', () => {
    const config = parseProjectConfig(`${VALID}image: {repository: registry.example.com/team/penguins}\n`);
    expect(config.image).toEqual({
      dockerfile: 'Dockerfile', context: '.', repository: 'registry.example.com/team/penguins', builder: 'buildah',
      insecure: false, buildTimeout: '1h', run: { engine: 'docker', args: [] },
    });
  });

  it('fills in ec2 defaults', () => {
    const config = parseProjectConfig('project: p\nlocations: {gpu: {provider: ec2, region: eu-west-1, instanceId: i-0abc}}');
    expect(config.locations.gpu).toEqual({
      provider: 'ec2', region: 'eu-west-1', instanceId: 'i-0abc', instanceTypes: [], spot: false,
      maxRuntime: '8h', workerStartTimeout: '10m', reaperGrace: '5m',
    });
  });

  it('accepts a gitlab section and fills in its defaults', () => {
    const config = parseProjectConfig(`${VALID}gitlab: {project: ml/penguins, artifactsUrl: 'https://artifacts.example.com/releases'}\n`);
    expect(config.gitlab).toEqual({
      url: 'https://gitlab.com', project: 'ml/penguins', tokenEnv: 'GITLAB_TOKEN',
      artifactsUrl: 'https://artifacts.example.com/releases', timeout: '30s',
    });
    const byId = parseProjectConfig(`${VALID}store: s3://ml-releases/cd4ml\ngitlab: {url: 'https://git.example.com/', project: 4711, tokenEnv: CI_RELEASE_TOKEN}\n`);
    expect(byId.gitlab).toMatchObject({ url: 'https://git.example.com/', project: 4711, tokenEnv: 'CI_RELEASE_TOKEN' });
  });

  // Each invalid config: the problem line must name the field path and say what was expected.
  const invalid: { name: string; text: string; expected: RegExp[] }[] = [
    {
      name: 'ec2 location naming no machine',
      text: 'project: p\nlocations: {gpu: {provider: ec2, region: eu-west-1}}',
      expected: [/^ {2}- locations\.gpu: name the machine: instanceId \(an existing instance\), launchTemplate or imageId$/m],
    },
    {
      name: 'ec2 location naming two machines',
      text: 'project: p\nlocations: {gpu: {provider: ec2, region: eu-west-1, instanceId: i-0abc, imageId: ami-1}}',
      expected: [/^ {2}- locations\.gpu\.instanceId: use only one of instanceId, launchTemplate and imageId$/m],
    },
    {
      name: 'spot on an existing instance',
      text: 'project: p\nlocations: {gpu: {provider: ec2, region: eu-west-1, instanceId: i-0abc, spot: true}}',
      expected: [/^ {2}- locations\.gpu\.instanceId: spot and instanceTypes apply to launched instances/m],
    },
    {
      name: 'malformed instance id',
      text: 'project: p\nlocations: {gpu: {provider: ec2, region: eu-west-1, instanceId: my-box}}',
      expected: [/^ {2}- locations\.gpu\.instanceId: an instance id such as i-0abc1234$/m],
    },
    {
      name: 'missing project',
      text: 'locations: {local: {provider: local}}',
      expected: [/^ {2}- project: .*expected string/m],
    },
    {
      name: 'bad project name',
      text: 'project: Penguins!\nlocations: {local: {provider: local}}',
      expected: [/^ {2}- project: lower-case letters, digits, "\.", "_" or "-"$/m],
    },
    {
      name: 'empty locations',
      text: 'project: penguins\nlocations: {}',
      expected: [/^ {2}- locations: at least one location$/m],
    },
    {
      name: 'unknown provider',
      text: 'project: penguins\nlocations: {local: {provider: gcp}}',
      expected: [/^ {2}- locations\.local\.provider: .*'local' \| 'ec2'/m],
    },
    {
      name: 'unknown top-level key (strict)',
      text: `${VALID}flavour: vanilla\n`,
      expected: [/^ {2}- \(top level\): .*[Uu]nrecognized key.*"flavour"/m],
    },
    {
      name: 'unknown key in a nested object (strict)',
      text: `${VALID}gate: {marign: 0.1}\n`,
      expected: [/^ {2}- gate: .*[Uu]nrecognized key.*"marign"/m],
    },
    {
      name: 'negative gate.margin',
      text: `${VALID}gate: {margin: -1}\n`,
      expected: [/^ {2}- gate\.margin: .*>=\s*0/m],
    },
    {
      name: 'gate.margin of the wrong type',
      text: `${VALID}gate: {margin: lots}\n`,
      expected: [/^ {2}- gate\.margin: .*expected number/m],
    },
    {
      name: 'bad duration repro.timeout',
      text: `${VALID}repro: {timeout: 5 minutes}\n`,
      expected: [/^ {2}- repro\.timeout: a duration such as 90s, 15m or 2h$/m],
    },
    {
      name: 'bad duration in a location',
      text: 'project: penguins\nlocations: {local: {provider: local, maxRuntime: 2 hours}}',
      expected: [/^ {2}- locations\.local\.maxRuntime: a duration such as 90s, 15m or 2h$/m],
    },
    {
      name: 'not YAML at all',
      text: 'project: [penguins\n  locations: : :\n',
      expected: [/^ {2}- not valid YAML: \S+/m],
    },
    {
      name: 'YAML that is not a mapping',
      text: '- project\n- locations\n',
      expected: [/^ {2}- \(top level\): .*expected object/m],
    },
    {
      name: 'ec2 location missing region',
      text: 'project: penguins\nlocations: {gpu: {provider: ec2, instanceId: i-0abc}}',
      expected: [/^ {2}- locations\.gpu\.region: .*expected string/m],
    },
    {
      name: 'bad location name',
      text: 'project: penguins\nlocations: {Local: {provider: local}}',
      // The key's own rule must reach the message, not just "invalid key".
      expected: [/^ {2}- locations\.Local: .*lower-case letters, digits or "-"/m],
    },
    {
      name: 'image repository with a tag or upper case',
      text: `${VALID}image: {repository: Registry.example.com/p:v1}\n`,
      expected: [/^ {2}- image\.repository: an image repository without a tag/m],
    },
    {
      name: 'image credentials that are not variable names (a secret pasted in)',
      text: `${VALID}image: {repository: localhost:5000/p, credentials: {usernameEnv: bot, passwordEnv: "s3cr3t!"}}\n`,
      expected: [/^ {2}- image\.credentials\.passwordEnv: the name of an environment variable/m],
    },
    {
      name: 'unknown image builder',
      text: `${VALID}image: {repository: localhost:5000/p, builder: bazel}\n`,
      expected: [/^ {2}- image\.builder: .*"buildah"\|"kaniko"\|"docker"/m],
    },
    {
      name: 'gitlab without a project',
      text: `${VALID}gitlab: {url: 'https://gitlab.example.com'}\n`,
      expected: [/^ {2}- gitlab\.project: /m],
    },
    {
      name: 'a gitlab project that is neither a path nor an id',
      text: `${VALID}gitlab: {project: penguins}\n`,
      expected: [/^ {2}- gitlab\.project: a project path such as group\/name, or its numeric id$/m],
    },
    {
      name: 'a gitlab url that is not http(s)',
      text: `${VALID}gitlab: {url: 'git@gitlab.com:ml/penguins.git', project: ml/penguins}\n`,
      expected: [/^ {2}- gitlab\.url: an http\(s\) url such as https:\/\/gitlab\.example\.com$/m],
    },
    {
      name: 'credentials in the gitlab url',
      text: `${VALID}gitlab: {url: 'https://bot:s3cret@gitlab.example.com', project: ml/penguins}\n`,
      expected: [/^ {2}- gitlab\.url: no user or password in the url: name a token variable in gitlab\.tokenEnv$/m],
    },
    {
      name: 'a token in the file',
      text: `${VALID}gitlab: {project: ml/penguins, token: glpat-abc}\n`,
      expected: [/^ {2}- gitlab\.token: secrets never go in cd4ml\.yaml: put the token in an environment variable and name it in gitlab\.tokenEnv$/m],
    },
    {
      name: 'a token where the variable name goes',
      text: `${VALID}gitlab: {project: ml/penguins, tokenEnv: glpat-abc}\n`,
      expected: [/^ {2}- gitlab\.tokenEnv: an environment variable name such as GITLAB_TOKEN \(the token itself goes in that variable\)$/m],
    },
    {
      name: 'a folder store named in the file, with gitlab but no artifactsUrl',
      text: `${VALID}store: /srv/releases\ngitlab: {project: ml/penguins}\n`,
      expected: [/^ {2}- gitlab\.artifactsUrl: required with a folder store \(\/srv\/releases\): GitLab links only http\(s\) urls/m],
    },
    {
      name: 'a bad gitlab timeout',
      text: `${VALID}gitlab: {project: ml/penguins, timeout: soon}\n`,
      expected: [/^ {2}- gitlab\.timeout: a duration such as 90s, 15m or 2h$/m],
    },
    {
      name: 'several problems at once, each on its own line',
      text: 'project: Penguins\nlocations: {}\ngate: {margin: -1}\n',
      expected: [/^ {2}- project: /m, /^ {2}- locations: at least one location$/m, /^ {2}- gate\.margin: /m],
    },
  ];

  it.each(invalid)('rejects $name', ({ text, expected }) => {
    const err = configError(text);
    expect(err.file).toBe('cd4ml.yaml');
    expect(err.message).toMatch(/^cd4ml\.yaml is invalid:\n/);
    for (const re of expected) expect(err.message).toMatch(re);
    expect(err.problems.length).toBeGreaterThanOrEqual(expected.length);
  });

  it('names the file it was given', () => {
    const err = configError('project: penguins', 'ml/cd4ml.yaml at 0123abcd');
    expect(err.message).toMatch(/^ml\/cd4ml\.yaml at 0123abcd is invalid:\n {2}- locations: /);
  });

  it('treats an empty file as an empty mapping', () => {
    const err = configError('');
    expect(err.message).toMatch(/^ {2}- project: /m);
    expect(err.message).toMatch(/^ {2}- locations: /m);
  });
});

describe('durationMs', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['0s', 0],
  ])('%s is %d ms', (d, ms) => expect(durationMs(d)).toBe(ms));

  it.each(['5 minutes', '15', 'm', '1.5h', '-1s', '2d', ' 2h', ''])('rejects %j', (d) => {
    expect(() => durationMs(d)).toThrow(/not a duration/);
  });
});

describe('TrainingRequest', () => {
  const base = { project: 'penguins', repoUrl: '/srv/penguins.git', location: 'local', releaseTag: 'v1.0' };

  const problems = (input: Record<string, unknown>): string[] => {
    const r = TrainingRequest.safeParse(input);
    expect(r.success).toBe(false);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('fills in the defaults', () => {
    expect(TrainingRequest.parse(base)).toEqual({
      ...base, branch: 'main', requestedBy: 'unknown', reason: '', configPath: 'cd4ml.yaml',
    });
  });

  it.each(['v1.0', '1.0', 'v1_0-rc.2', 'nightly-2024-05-01'])('accepts release tag %j', (releaseTag) => {
    expect(TrainingRequest.safeParse({ ...base, releaseTag }).success).toBe(true);
  });

  // Every tag accepted here must also be a valid git tag (git check-ref-format):
  // it is pushed only after the training, so a bad one would fail late.
  it.each(['', 'v 1', '-v1', '.v1', 'v1/0', 'v1:0', 'v1~1', 'v1^', 'v1..2', 'v1.lock', 'v1.', 'x'.repeat(129)])(
    'rejects release tag %j',
    (releaseTag) => {
      expect(problems({ ...base, releaseTag })).toEqual([expect.stringMatching(/^releaseTag: a git tag/)]);
    },
  );

  it.each(['abcd', 'deadbeef', '0123456789abcdef0123456789abcdef01234567'])('accepts commit %j', (commit) => {
    expect(TrainingRequest.safeParse({ ...base, commit }).success).toBe(true);
  });

  it.each(['abc', 'main', 'g123456', 'deadbeef ', '0123456789abcdef0123456789abcdef012345678', 'HEAD~1'])(
    'rejects commit %j',
    (commit) => {
      expect(problems({ ...base, commit })).toEqual([expect.stringMatching(/^commit: a hex commit sha/)]);
    },
  );

  it.each(['https://gitlab.example.com/ml/penguins.git', 'git@github.com:ml/penguins.git', 'ssh://git@host:22/ml/p.git', 'https://oauth2@host/p.git', '/srv/p.git'])(
    'accepts repo url %j',
    (repoUrl) => {
      expect(TrainingRequest.safeParse({ ...base, repoUrl }).success).toBe(true);
    },
  );

  it.each(['https://gitlab-ci-token:glcbt-64_abc@gitlab.example.com/ml/penguins.git', 'http://alice:hunter2@host/p.git'])(
    'refuses repo url %j: a token would be stored in workflow history',
    (repoUrl) => {
      expect(problems({ ...base, repoUrl })).toEqual([expect.stringMatching(/^repoUrl: no password or token in the url/)]);
      expect(ImageRequest.safeParse({ project: 'p', repoUrl }).success).toBe(false);
    },
  );

  it('requires project, repoUrl, location and releaseTag', () => {
    const paths = problems({}).map((p) => p.split(':')[0]);
    expect(paths).toEqual(expect.arrayContaining(['project', 'repoUrl', 'location', 'releaseTag']));
  });
});
