import { Client, Connection } from '@temporalio/client';
import { namespaceMissing, temporalConnectionOptions, temporalSettings, type TemporalSettings } from '@cd4ml/contracts';
import { whyTemporalUnreachable } from '@cd4ml/contracts/temporal-tls-probe';

/**
 * A client for the configured Temporal. An unreachable server, a TLS mismatch, an unreadable TLS file or a
 * namespace that does not exist gets an error within seconds naming the setting to fix.
 */
export async function connectClient(settings: TemporalSettings = temporalSettings()): Promise<Client> {
  // Throws naming the variable when a TLS file cannot be read.
  const options = temporalConnectionOptions(settings);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: '5s' });
  } catch (err) {
    throw new Error(await whyTemporalUnreachable(settings, options, err));
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: settings.namespace });
  } catch (err) {
    await connection.close();
    // gRPC NOT_FOUND: the server answered, the namespace is not there.
    throw new Error((err as { code?: number }).code === 5 ? namespaceMissing(settings) : await whyTemporalUnreachable(settings, options, err));
  }
  return new Client({ connection, namespace: settings.namespace });
}
