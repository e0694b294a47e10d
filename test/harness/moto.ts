import { CreateLaunchTemplateCommand, DescribeImagesCommand, EC2Client, RunInstancesCommand, StopInstancesCommand, type _InstanceType } from '@aws-sdk/client-ec2';
import { execa, type ResultPromise } from 'execa';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { freePort } from './free-port.ts';

/** Installed by scripts/bootstrap.sh from test/requirements.txt. */
export const MOTO_SERVER = process.env.CD4ML_MOTO_SERVER ?? path.join(REPO_ROOT, '.cd4ml/tools-venv/bin/moto_server');

/** Credentials moto accepts; recognisable so the secrets scan can look for them. */
export const MOTO_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIACD4MLTESTKEY0001',
  AWS_SECRET_ACCESS_KEY: 'cd4ml-test-secret-Zq8vN3xK7pL2',
  AWS_REGION: 'us-east-1',
};

/**
 * A real moto_server on a free loopback port: EC2 and S3 over HTTP, so the AWS
 * SDK runs its real request signing, retries and XML parsing against it.
 */
export class Moto {
  private constructor(readonly endpoint: string, private readonly proc: ResultPromise) {}

  static async start(): Promise<Moto> {
    const port = await freePort();
    const proc = execa(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
      reject: false, stdout: 'ignore', stderr: 'pipe', buffer: false,
    });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    const endpoint = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`moto_server exited (${proc.exitCode}): ${stderr}\nRun scripts/bootstrap.sh to install it.`);
      try {
        const res = await fetch(`${endpoint}/moto-api/data.json`);
        if (res.ok) break;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return new Moto(endpoint, proc);
  }

  /** Environment for a process (worker, dvc) that should talk to this moto. */
  env(): Record<string, string> {
    return { ...MOTO_CREDENTIALS, AWS_ENDPOINT_URL: this.endpoint };
  }

  /** Settings for an AWS SDK client in the test process itself (leaves process.env alone). */
  clientConfig(endpoint = this.endpoint) {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: region } = MOTO_CREDENTIALS;
    return { endpoint, region, credentials: { accessKeyId, secretAccessKey } };
  }

  /** An AMI moto knows (it ships a list of Amazon's). */
  async amiId(): Promise<string> {
    const ec2 = new EC2Client(this.clientConfig());
    try {
      return (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
    } finally {
      ec2.destroy();
    }
  }

  /** The launch template the EC2 tests' locations name: a GPU type on one of moto's AMIs. */
  async createLaunchTemplate(name = 'cd4ml-gpu'): Promise<void> {
    const ImageId = await this.amiId();
    const ec2 = new EC2Client(this.clientConfig());
    try {
      await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: { ImageId, InstanceType: 'g4dn.xlarge' } }));
    } finally {
      ec2.destroy();
    }
  }

  /** A person's own instance, untagged and switched off, as a `desk` location names it. */
  async stoppedInstance(InstanceType: _InstanceType = 'g4dn.2xlarge'): Promise<string> {
    const ec2 = new EC2Client(this.clientConfig());
    try {
      const id = (await ec2.send(new RunInstancesCommand({ ImageId: await this.amiId(), InstanceType, MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
      await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
      return id;
    } finally {
      ec2.destroy();
    }
  }

  /** Forget every bucket and instance. */
  async reset(): Promise<void> {
    await fetch(`${this.endpoint}/moto-api/reset`, { method: 'POST' });
  }

  async stop(): Promise<void> {
    this.proc.kill('SIGTERM');
    await this.proc;
  }
}
