import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Ec2LocationConfig } from '@cd4ml/contracts';

// The control worker's INSTANCE_SECRET_ENV (activities/src/compute/ec2/user-data.ts), named here for
// the help text so that registering this command loads none of the activities (see cli.ts).
export const SECRET_ENV = {
  apiKeySsmParameter: 'CD4ML_INSTANCE_API_KEY_SSM_PARAMETER',
  clientCertSsmParameter: 'CD4ML_INSTANCE_TLS_CLIENT_CERT_SSM_PARAMETER',
  clientKeySsmParameter: 'CD4ML_INSTANCE_TLS_CLIENT_KEY_SSM_PARAMETER',
} as const;

export interface UserDataRequest {
  /** cd4ml.yaml on this machine. */
  configPath: string;
  location: string;
  /** git url of the cd4ml sources for the instance; '' when the AMI has /opt/cd4ml. */
  source: string;
  /** SSM parameter with the Temporal API key, read on the instance; '' for none. */
  apiKeySsmParameter: string;
  /** SSM parameters with the instance's mTLS client certificate and key; none: the AMI provides /etc/cd4ml/tls/client.pem and client.key. */
  clientCertSsmParameter?: string;
  clientKeySsmParameter?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RenderedUserData {
  script: string;
  /** Things a person should know, for stderr: never part of the script. */
  notes: string[];
}

/**
 * cd4ml's user-data script for one EC2 location, as the control worker would send it:
 * the Temporal address and namespace from TEMPORAL_* (never the API key), the
 * location from cd4ml.yaml. Launched locations (template or AMI) get a per-instance
 * queue that the script derives on the instance from IMDSv2, so the output fits
 * every launch of a template.
 */
export async function renderLocationUserData(req: UserDataRequest): Promise<RenderedUserData> {
  const [{ parseProjectConfig, temporalSettings }, { instanceTemporalValues, renderUserData, sendsCd4mlUserData }] = await Promise.all([
    import('@cd4ml/contracts'), import('@cd4ml/activities/compute/ec2/user-data'),
  ]);
  const file = path.resolve(req.configPath);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file (give its path with --config)' : err.message}`);
  });
  const config = parseProjectConfig(text, req.configPath);
  const ec2 = Object.entries(config.locations).filter(([, l]) => l.provider === 'ec2').map(([name]) => name);
  const loc = config.locations[req.location];
  if (!loc || loc.provider !== 'ec2') {
    throw new Error(
      `${req.configPath} has no EC2 location "${req.location}"` +
        (ec2.length ? `; its EC2 locations: ${ec2.join(', ')}` : '; it names no location with provider: ec2'),
    );
  }
  const cfg: Ec2LocationConfig = loc;
  const temporal = temporalSettings(req.env ?? process.env);
  const notes: string[] = [];
  if (temporal.apiKey && !req.apiKeySsmParameter) {
    notes.push(
      'TEMPORAL_API_KEY is set here but is not (and never will be) in the script: user data is readable by anyone allowed ' +
        'DescribeInstanceAttribute. Write TEMPORAL_API_KEY=... to /etc/cd4ml/secrets.env in your AMI build, or store it as an ' +
        'SSM SecureString and pass --api-key-ssm-parameter <name> (the instance role needs ssm:GetParameter and kms:Decrypt).',
    );
  }
  if (temporal.tls && temporal.tlsOptions?.clientCertPath && !(req.clientCertSsmParameter && req.clientKeySsmParameter)) {
    notes.push(
      'TEMPORAL_TLS_CLIENT_CERT_PATH is set here (mTLS): this machine\'s certificate and key are not in the script. The instance uses its own, ' +
        '/etc/cd4ml/tls/client.pem and client.key: write them in your AMI build (the key root-only), or store them as SSM SecureStrings and pass ' +
        '--tls-client-cert-ssm-parameter and --tls-client-key-ssm-parameter.',
    );
  }
  if (/^(localhost|127\.|\[?::1\]?)/.test(temporal.address)) {
    notes.push(`TEMPORAL_ADDRESS is ${temporal.address}: an instance cannot reach that; set TEMPORAL_ADDRESS to an address it can.`);
  }
  if (cfg.instanceId) {
    notes.push(`location "${req.location}" is your own instance ${cfg.instanceId}: run the script on it once, as root (cd4ml never sends user data to it).`);
  } else if (sendsCd4mlUserData(cfg)) {
    notes.push(
      `location "${req.location}" boots with this script already: cd4ml sends it at every launch${cfg.launchTemplate ? ', replacing the template\'s own user data' : ''}. ` +
        (cfg.launchTemplate ? 'To keep the template\'s, set userData: template and put this script in it.' : ''),
    );
  }
  const script = await renderUserData({
    location: req.location,
    perInstanceQueue: cfg.instanceId ? 'false' : 'true',
    cd4mlSource: req.source,
    ...instanceTemporalValues(temporal, {
      apiKeySsmParameter: req.apiKeySsmParameter, clientCertSsmParameter: req.clientCertSsmParameter, clientKeySsmParameter: req.clientKeySsmParameter,
    }),
  });
  return { script, notes: notes.map((n) => n.trim()) };
}

export function ec2Command(program: Command): void {
  const ec2 = program.command('ec2').description('EC2 training machines');
  ec2
    .command('user-data')
    .description(
      'print the user-data script that brings an EC2 location\'s worker up: for a launch template (with userData: template ' +
        'in the location), or to run once on your own instance. Temporal\'s address and namespace come from TEMPORAL_ADDRESS ' +
        'and TEMPORAL_NAMESPACE; the API key never goes into the script',
    )
    .requiredOption('--location <name>', 'an EC2 location of cd4ml.yaml')
    .option('--config <path>', 'cd4ml.yaml on this machine', 'cd4ml.yaml')
    .option('--source <git url>', 'where the instance clones cd4ml from when its AMI has no /opt/cd4ml (default: $CD4ML_SOURCE)')
    .option('--api-key-ssm-parameter <name>', `SSM parameter (SecureString) the instance reads the Temporal API key from, with its role (default: $${SECRET_ENV.apiKeySsmParameter})`)
    .option('--tls-client-cert-ssm-parameter <name>', `mTLS: SSM parameter the instance reads its client certificate from (default: $${SECRET_ENV.clientCertSsmParameter})`)
    .option('--tls-client-key-ssm-parameter <name>', `mTLS: SSM parameter (SecureString) the instance reads its client key from (default: $${SECRET_ENV.clientKeySsmParameter})`)
    .action(async (o) => {
      const env = process.env;
      const { script, notes } = await renderLocationUserData({
        configPath: o.config, location: o.location, source: o.source ?? env.CD4ML_SOURCE ?? '',
        apiKeySsmParameter: o.apiKeySsmParameter ?? env[SECRET_ENV.apiKeySsmParameter] ?? '',
        clientCertSsmParameter: o.tlsClientCertSsmParameter ?? env[SECRET_ENV.clientCertSsmParameter],
        clientKeySsmParameter: o.tlsClientKeySsmParameter ?? env[SECRET_ENV.clientKeySsmParameter],
      });
      // Notes on stderr: stdout is the script alone, ready for `> user-data.sh` or a template.
      for (const note of notes) console.error(`cd4ml: note: ${note}`);
      process.stdout.write(script);
    });
}
