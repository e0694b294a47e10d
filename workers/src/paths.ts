import path from 'node:path';

// Default places for local state: everything under .cd4ml/ of the working directory.
export const cd4mlHome = (): string => path.resolve(process.env.CD4ML_HOME ?? '.cd4ml');
export const defaultStore = (): string => path.resolve(process.env.CD4ML_STORE ?? path.join(cd4mlHome(), 'releases'));
export const defaultVenv = (): string => path.resolve(process.env.CD4ML_VENV ?? path.join(cd4mlHome(), 'venv'));
export const defaultWorkdir = (location: string): string => path.join(cd4mlHome(), 'locations', location);
