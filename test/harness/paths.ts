import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Installed by scripts/bootstrap.sh. */
export const TEMPORAL_BIN = process.env.CD4ML_TEMPORAL_BIN ?? path.join(REPO_ROOT, '.cd4ml/bin/temporal');
export const VENV = process.env.CD4ML_VENV ?? path.join(REPO_ROOT, '.cd4ml/venv');
