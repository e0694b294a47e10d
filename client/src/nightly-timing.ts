// When the nightly schedule runs by default: apart from the schedule code, so \`cd4ml --help\` shows it cheaply.

export interface NightlyTiming {
  /** Cron expression (5 fields), e.g. "0 2 * * *" for 02:00 every day. */
  cron: string;
  /** IANA time zone the cron is read in. */
  timezone: string;
}

export const DEFAULT_NIGHTLY: NightlyTiming = { cron: '0 2 * * *', timezone: 'UTC' };
