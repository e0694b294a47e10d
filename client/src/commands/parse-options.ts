// Commander argument parsers shared by the commands: a bad value names its flag.

export const positiveInt = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
};
export const nonNegative = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number >= 0, got ${value}`);
  return n;
};
/** A USD amount such as --budget 5.00: more than 0. */
export const positiveNumber = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a number > 0 (USD), got ${value}`);
  return n;
};

/** A port parser whose error names `flag` (--port, --grpc-port, ...). */
export const portOf = (flag: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be an integer 0..65535, got ${value}`);
  return n;
};
export const parsePort = portOf('--port');
