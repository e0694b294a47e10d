import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log SDK warnings and errors only, so failures stay readable.
try {
  Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as 'WARN') ?? 'WARN') });
} catch {
  /* already installed in this process */
}

// The AWS SDK warns once per process that Node 20 support ends in 2027; the README says so once instead.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
