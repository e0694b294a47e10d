import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

type History = Parameters<typeof historyToJSON>[0];

/**
 * A history as `temporal workflow show --output json` exports it, with every
 * payload's base64 data decoded too: that is where inputs and results live.
 */
export function historyText(history: History): string {
  const json = historyToJSON(history);
  const decoded: string[] = [];
  JSON.parse(json, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64').toString('utf8'));
    return value;
  });
  return [json, ...decoded].join('\n');
}

/** The places (name, text) where any secret appears as is or base64-encoded. */
export function placesWithSecrets(places: [string, string][], secrets: string[]): string[] {
  const found: string[] = [];
  for (const secret of secrets) {
    const base64 = Buffer.from(secret).toString('base64').slice(0, 20);
    for (const [where, text] of places) {
      if (text.includes(secret) || text.includes(base64)) found.push(`${where} holds ${secret.slice(0, 4)}...`);
    }
  }
  return found;
}
