import { z } from 'zod';

// How every cd4ml process finds Temporal: environment only, so an API key
// never lands in a file or in workflow history.
const TemporalEnv = z.object({
  TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
});

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls: boolean;
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const e = TemporalEnv.parse(env);
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    apiKey: e.TEMPORAL_API_KEY,
    // An API key implies TLS (Temporal Cloud); TEMPORAL_TLS overrides.
    tls: e.TEMPORAL_TLS ? e.TEMPORAL_TLS === 'true' : Boolean(e.TEMPORAL_API_KEY),
  };
}

/** Why a process could not connect to Temporal, naming the setting to fix. */
export function temporalUnreachable(settings: TemporalSettings, cause: unknown): string {
  const detail = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
  // gRPC says only "failed to connect" when TLS meets a plaintext server or a certificate does not match.
  const tlsHint = settings.tls || /tls|certificate|handshake|ssl/i.test(detail ?? '')
    ? ` With TLS on (TEMPORAL_TLS, or implied by TEMPORAL_API_KEY), this is also what a server without TLS, or with a certificate that does not match ${settings.address}, gives: check TEMPORAL_TLS.`
    : '';
  return `cannot reach Temporal at ${settings.address} (TEMPORAL_ADDRESS): ${detail}.${tlsHint}\n` +
    'Start one with "make demo" (dev server on :7233, Web UI on :8233) or "temporal server start-dev", ' +
    'or point TEMPORAL_ADDRESS at your cluster (TEMPORAL_TLS, TEMPORAL_API_KEY for Temporal Cloud).';
}

/** The namespace does not exist on the server that answered. */
export const namespaceMissing = (settings: TemporalSettings): string =>
  `namespace "${settings.namespace}" (TEMPORAL_NAMESPACE) does not exist on ${settings.address}: ` +
  `create it with "temporal operator namespace create --namespace ${settings.namespace}", or set TEMPORAL_NAMESPACE to an existing one.`;
