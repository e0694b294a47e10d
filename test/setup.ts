import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log SDK warnings and errors only, so failures stay readable.
try {
  Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as 'WARN') ?? 'WARN') });
} catch {
  /* already installed in this process */
}
