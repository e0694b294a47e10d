import path from 'node:path';

// Default places for local state: everything under .cd4ml/ of the working directory.
export const cd4mlHome = (): string => path.resolve(process.env.CD4ML_HOME ?? '.cd4ml');
/** CD4ML_STORE: a folder (made absolute) or s3://bucket/prefix (kept as is). */
export const defaultStore = (): string => {
  const store = process.env.CD4ML_STORE ?? path.join(cd4mlHome(), 'releases');
  return /^s3:\/\//i.test(store) ? store : path.resolve(store);
};
export const defaultVenv = (): string => path.resolve(process.env.CD4ML_VENV ?? path.join(cd4mlHome(), 'venv'));
export const defaultWorkdir = (location: string): string => path.join(cd4mlHome(), 'locations', location);
