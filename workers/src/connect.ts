import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { namespaceMissing, temporalConnectionOptions, type TemporalConnectionOptions, type TemporalSettings } from '@cd4ml/contracts';
import { whyTemporalUnreachable } from '@cd4ml/contracts/temporal-tls-probe';

/** Temporal could not be used with these settings; the message names the setting to fix. */
export class TemporalSetupError extends Error {
  override name = 'TemporalSetupError';
}

/**
 * A client connection for a worker process, checked before any worker starts: an
 * address that does not answer, a TLS mismatch, a TLS file that cannot be read or a
 * namespace that does not exist fails within seconds with what to set, not after the
 * SDK's own retries.
 */
export async function connectTemporal(settings: TemporalSettings): Promise<{ client: Client; native: () => Promise<NativeConnection>; close: () => Promise<void> }> {
  const { namespace } = settings;
  let options: TemporalConnectionOptions;
  try {
    options = temporalConnectionOptions(settings);
  } catch (err) {
    throw new TemporalSetupError((err as Error).message);
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: '5s' });
  } catch (err) {
    throw new TemporalSetupError(await whyTemporalUnreachable(settings, options, err));
  }
  const client = new Client({ connection, namespace });
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    await connection.close();
    // gRPC NOT_FOUND: the server answered, the namespace is not there.
    if ((err as { code?: number }).code === 5) throw new TemporalSetupError(namespaceMissing(settings));
    throw new TemporalSetupError(await whyTemporalUnreachable(settings, options, err));
  }
  const natives: NativeConnection[] = [];
  return {
    client,
    native: async () => {
      // The worker's own (Rust) connection: what the check above let through may still fail here.
      const native = await NativeConnection.connect(options).catch(async (err: unknown) => {
        throw new TemporalSetupError(await whyTemporalUnreachable(settings, options, err));
      });
      natives.push(native);
      return native;
    },
    close: async () => {
      await connection.close();
      for (const n of natives) await n.close();
    },
  };
}

/** For entry points: a setup error is said in one line of the log (no stack) with exit code 1; anything else is rethrown. */
export function exitOnSetupError(err: unknown): never {
  if (!(err instanceof TemporalSetupError)) throw err;
  console.error(`cd4ml: ${(err as Error).message}`);
  process.exit(1);
}
