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
