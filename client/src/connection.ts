import { Client, Connection } from '@temporalio/client';
import { temporalSettings, type TemporalSettings } from '@cd4ml/contracts';

/** A client for the configured Temporal; an unreachable server gets an error that says what to do. */
export async function connectClient(settings: TemporalSettings = temporalSettings()): Promise<Client> {
  try {
    const connection = await Connection.connect({
      address: settings.address,
      apiKey: settings.apiKey,
      tls: settings.tls || undefined,
      connectTimeout: '5s',
    });
    return new Client({ connection, namespace: settings.namespace });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${settings.address} (${(err as Error).message.split('\n')[0]}).\n` +
        `Start one with "make demo" (dev server on :7233, Web UI on :8233) or "temporal server start-dev", ` +
        `or point TEMPORAL_ADDRESS at your cluster.`,
    );
  }
}
