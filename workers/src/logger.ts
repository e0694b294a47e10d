import pino from 'pino';
import { DefaultLogger, Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';

/**
 * One structured logger per process. Keys that can hold secrets are redacted
 * wherever they appear, so a token passed around by mistake never reaches a log.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  redact: {
    paths: ['apiKey', 'token', 'password', 'authorization', '*.apiKey', '*.token', '*.password', '*.authorization', '*.headers.authorization'],
    censor: '[redacted]',
  },
});

/** Routes the Temporal SDK's own logs through pino at the configured level. */
export function installTemporalLogging(): void {
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error',
  };
  const sdkLevel = (process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, ({ level, message, meta }) =>
      logger[levels[level]]({ ...(meta as LogMetadata), temporal: true }, message),
    ),
  });
}
