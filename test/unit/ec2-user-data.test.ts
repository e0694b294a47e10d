import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { parseProjectConfig, type Ec2LocationConfig } from '@cd4ml/contracts';
import { runInstancesInput } from '@cd4ml/activities/compute/ec2/launch';
import {
  INSTANCE_SECRET_ENV, USER_DATA_MAX_BYTES, instanceSecretSources, instanceTemporalValues, renderUserData,
} from '@cd4ml/activities/compute/ec2/user-data';
import { temporalSettings } from '@cd4ml/contracts';
import { renderLocationUserData, SECRET_ENV } from '@cd4ml/client/commands/ec2';
import { FakeImds } from '../fakes/imds.ts';

const ec2Location = (yaml: string): Ec2LocationConfig =>
  parseProjectConfig(`project: p\nlocations:\n  gpu: {provider: ec2, region: eu-west-1, ${yaml}}\n`).locations.gpu as Ec2LocationConfig;

/** The RunInstances input a launch sends. */
async function launchInput(config: Ec2LocationConfig): Promise<RunInstancesCommandInput> {
  return runInstancesInput({ location: 'gpu', workflowId: 'train/p/v1', config, userData: '#!/bin/bash\necho cd4ml\n' }, { instanceType: undefined, market: 'on-demand' });
}

describe('userData in an EC2 location', () => {
  it('is cd4ml or template, with a launch template only', () => {
    expect(ec2Location('launchTemplate: t, userData: template').userData).toBe('template');
    expect(ec2Location('launchTemplate: t, userData: cd4ml').userData).toBe('cd4ml');
    expect(() => ec2Location('launchTemplate: t, userData: mine')).toThrow(/locations\.gpu\.userData: .*"cd4ml"\|"template"/);
    expect(ec2Location('imageId: ami-1, userData: cd4ml').userData).toBe('cd4ml');
    expect(() => ec2Location('imageId: ami-1, userData: template')).toThrow(/locations\.gpu\.userData: applies with a launchTemplate/);
    expect(() => ec2Location('instanceId: i-0abc, userData: cd4ml')).toThrow(/locations\.gpu\.userData: applies to launched instances; run `cd4ml ec2 user-data`/);
  });

  it("a launch sends cd4ml's script (replacing a template's) unless the template's own is asked for", async () => {
    const b64 = Buffer.from('#!/bin/bash\necho cd4ml\n').toString('base64');
    expect((await launchInput(ec2Location('launchTemplate: t'))).UserData).toBe(b64);
    expect((await launchInput(ec2Location('launchTemplate: t, userData: cd4ml'))).UserData).toBe(b64);
    expect((await launchInput(ec2Location('imageId: ami-1'))).UserData).toBe(b64);
    const own = await launchInput(ec2Location('launchTemplate: t, userData: template'));
    expect(own).not.toHaveProperty('UserData');
    expect(own.LaunchTemplate).toEqual({ LaunchTemplateName: 't', Version: undefined });
  });
});

describe('renderUserData', () => {
  const values = { location: 'gpu', perInstanceQueue: 'true', temporalAddress: 't.example.com:7233', temporalNamespace: 'ml', cd4mlSource: '' };
  it('fills every value, the SSM parameter empty unless given', async () => {
    const script = await renderUserData(values);
    expect(script).not.toMatch(/\{\{\w+\}\}/);
    expect(script).toContain("TEMPORAL_API_KEY_SSM_PARAMETER=''");
    expect(Buffer.byteLength(script)).toBeLessThan(USER_DATA_MAX_BYTES);
    expect(await renderUserData({ ...values, temporalApiKeySsmParameter: '/cd4ml/key' })).toContain("TEMPORAL_API_KEY_SSM_PARAMETER='/cd4ml/key'");
  });
  it('refuses a value that could leave its quotes', async () => {
    await expect(renderUserData({ ...values, cd4mlSource: "x'; rm -rf /; '" })).rejects.toThrow(/cd4mlSource has characters that are not allowed/);
  });
});

describe('instanceTemporalValues: what an instance gets of the Temporal settings', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-instance-tls-')); });
  afterAll(async () => rm(dir, { recursive: true, force: true }));
  const cert = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

  it('passes the public settings, never a secret or a path of this machine', async () => {
    await writeFile(path.join(dir, 'ca.pem'), cert);
    const settings = temporalSettings({
      TEMPORAL_ADDRESS: 't.example.com:7233', TEMPORAL_API_KEY: 'tcld-secret', TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal', TEMPORAL_TLS_CLIENT_CERT_PATH: '/here/c.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/here/c.key',
    });
    const values = instanceTemporalValues(settings, instanceSecretSources({ CD4ML_INSTANCE_TLS_CLIENT_KEY_SSM_PARAMETER: '/k' }));
    expect(values).toMatchObject({
      temporalTls: 'true', temporalApiKeyExpected: 'true', temporalTlsServerName: 'temporal.internal',
      temporalTlsServerCaBase64: Buffer.from(cert).toString('base64'), temporalTlsClientCert: 'true',
      temporalTlsClientKeySsmParameter: '/k', temporalTlsClientCertSsmParameter: '',
    });
    const text = JSON.stringify(values);
    for (const secret of ['tcld-secret', '/here/c.pem', '/here/c.key']) expect(text).not.toContain(secret);
    await expect(renderUserData({ location: 'gpu', perInstanceQueue: 'true', cd4mlSource: '', ...values })).resolves.toContain("TEMPORAL_TLS_CLIENT_CERT='true'");
  });

  it('refuses a CA file that holds a private key, naming the variable', async () => {
    await writeFile(path.join(dir, 'bundle.pem'), `${cert}-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n`);
    const settings = temporalSettings({ TEMPORAL_ADDRESS: 't:7233', TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'bundle.pem') });
    expect(() => instanceTemporalValues(settings, {})).toThrow(/TEMPORAL_TLS_SERVER_CA_CERT_PATH=.*bundle\.pem is not a PEM certificate file only .*the CA certificate alone/);
  });

  it('without TLS, no TLS values', () => {
    const values = instanceTemporalValues(temporalSettings({ TEMPORAL_ADDRESS: 't:7233' }), {});
    expect(values).toMatchObject({ temporalTls: '', temporalTlsServerCaBase64: '', temporalTlsClientCert: '', temporalApiKeyExpected: '' });
  });
});

describe('cd4ml ec2 user-data', () => {
  let dir: string;
  let configPath: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-ec2-cmd-'));
    configPath = path.join(dir, 'cd4ml.yaml');
    await writeFile(configPath, [
      'project: p',
      'locations:',
      '  gpu: {provider: ec2, region: eu-west-1, launchTemplate: cd4ml-gpu, userData: template}',
      '  sent: {provider: ec2, region: eu-west-1, launchTemplate: cd4ml-gpu}',
      '  mine: {provider: ec2, region: eu-west-1, instanceId: i-0abc1234}',
      '  local: {provider: local}',
      '',
    ].join('\n'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));
  const env = { TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_NAMESPACE: 'ml' };
  const req = (location: string, more: Partial<Parameters<typeof renderLocationUserData>[0]> = {}) =>
    renderLocationUserData({ configPath, location, source: 'https://git.example.com/cd4ml.git', apiKeySsmParameter: '', env, ...more });

  it('renders a launched location with a per-instance queue and the Temporal address from the environment', async () => {
    const { script, notes } = await req('gpu');
    expect(script).toContain("CD4ML_LOCATION='gpu'");
    expect(script).toContain("PER_INSTANCE_QUEUE='true'");
    expect(script).toContain("TEMPORAL_ADDRESS='temporal.example.com:7233'");
    expect(script).toContain("TEMPORAL_NAMESPACE='ml'");
    expect(script).toContain("CD4ML_SOURCE='https://git.example.com/cd4ml.git'");
    expect(script).toContain("TEMPORAL_TLS=''");
    expect(notes).toEqual([]);
  });

  it("says when cd4ml sends the script itself, and a person's instance polls the location's own queue", async () => {
    expect((await req('sent')).notes.join('\n')).toMatch(/cd4ml sends it at every launch, replacing the template's own user data.*userData: template/);
    const mine = await req('mine');
    expect(mine.script).toContain("PER_INSTANCE_QUEUE='false'");
    expect(mine.notes.join('\n')).toContain('run the script on it once, as root');
  });

  it('never puts the API key in the script, and says where it goes instead', async () => {
    const key = 'tcld-secret-abcdef';
    const { script, notes } = await req('gpu', { env: { ...env, TEMPORAL_API_KEY: key } });
    expect(script).not.toContain(key);
    expect(notes.join('\n')).not.toContain(key);
    expect(notes.join('\n')).toMatch(/\/etc\/cd4ml\/secrets\.env.*--api-key-ssm-parameter/);
    const viaSsm = await req('gpu', { env: { ...env, TEMPORAL_API_KEY: key }, apiKeySsmParameter: '/cd4ml/temporal-api-key' });
    expect(viaSsm.notes).toEqual([]);
    expect(viaSsm.script).not.toContain(key);
    // The key implies TLS here; the instance is told so, its key coming from SSM.
    expect(viaSsm.script).toContain("TEMPORAL_TLS='true'");
  });

  it('names the EC2 locations when asked for another, and a missing file by its path', async () => {
    await expect(req('local')).rejects.toThrow(/has no EC2 location "local"; its EC2 locations: gpu, sent, mine/);
    await expect(req('nope')).rejects.toThrow(/its EC2 locations: gpu, sent, mine/);
    await expect(req('gpu', { configPath: path.join(dir, 'missing.yaml') })).rejects.toThrow(/missing\.yaml: no such file \(give its path with --config\)/);
  });
});

describe('the fake IMDSv2', () => {
  let imds: FakeImds;
  beforeAll(async () => { imds = await FakeImds.start({ instanceId: 'i-0123456789abcdef0' }); });
  afterAll(async () => imds?.stop());

  it('answers metadata only with a token it handed out', async () => {
    const url = `${imds.endpoint}/latest/meta-data/instance-id`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { 'x-aws-ec2-metadata-token': 'made-up' } })).status).toBe(401);
    expect((await fetch(`${imds.endpoint}/latest/api/token`, { method: 'PUT' })).status).toBe(400);
    const token = await (await fetch(`${imds.endpoint}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
    const res = await fetch(url, { headers: { 'x-aws-ec2-metadata-token': token } });
    expect([res.status, await res.text()]).toEqual([200, 'i-0123456789abcdef0']);
    expect((await fetch(`${imds.endpoint}/latest/meta-data/spot/instance-action`, { headers: { 'x-aws-ec2-metadata-token': token } })).status).toBe(404);
    expect((await fetch(`${imds.endpoint}/latest/api/token`, {
      method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '10.0.0.1' },
    })).status).toBe(403);
  });
});

describe('cd4ml ec2 user-data help', () => {
  it('names the same instance secret variables as the control worker', () => {
    expect(SECRET_ENV).toEqual(INSTANCE_SECRET_ENV);
  });
});
