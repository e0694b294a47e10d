import { temporalSettings } from '@cd4ml/contracts';

/**
 * The Temporal Web UI's page of a run. CD4ML_WEB_UI names the UI's address (default: the dev server's,
 * port 8233 next to Temporal's 7233, or 1000 above whatever port TEMPORAL_ADDRESS names, as the demo does).
 */
export function webUiLink(workflowId: string, runId?: string, env: NodeJS.ProcessEnv = process.env): string {
  const { address, namespace } = temporalSettings(env);
  const base = env.CD4ML_WEB_UI?.trim().replace(/\/+$/, '') || devServerUi(address);
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}

function devServerUi(address: string): string {
  const m = /^(.*):(\d+)$/.exec(address);
  const host = m?.[1] && !['0.0.0.0', '127.0.0.1', '[::1]'].includes(m[1]) ? m[1] : 'localhost';
  return `http://${host}:${m ? Number(m[2]) + 1000 : 8233}`;
}
