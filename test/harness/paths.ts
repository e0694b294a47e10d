import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Installed by scripts/bootstrap.sh. */
export const TEMPORAL_BIN = process.env.CD4ML_TEMPORAL_BIN ?? path.join(REPO_ROOT, '.cd4ml/bin/temporal');
/** The Temporal server and its SQL schema tool: installed by `scripts/bootstrap.sh --test` (make test). */
export const TEMPORAL_SERVER_BIN = process.env.CD4ML_TEMPORAL_SERVER_BIN ?? path.join(REPO_ROOT, '.cd4ml/bin/temporal-server');
export const TEMPORAL_SQL_TOOL_BIN = process.env.CD4ML_TEMPORAL_SQL_TOOL_BIN ?? path.join(REPO_ROOT, '.cd4ml/bin/temporal-sql-tool');
/** The server's config (a template the server renders) and its dynamic config, kept in the repo. */
export const TEMPORAL_CONFIG_DIR = path.join(REPO_ROOT, 'deploy/temporal');
export const VENV = process.env.CD4ML_VENV ?? path.join(REPO_ROOT, '.cd4ml/venv');
