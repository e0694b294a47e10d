import type { Client } from '@temporalio/client';
// A CommonJS package: a default import works under both node's ESM loader and vitest.
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES, cliType, type SearchAttributeName } from '@cd4ml/contracts';
import { TemporalSetupError } from './connect.ts';

const { IndexedValueType } = proto.temporal.api.enums.v1;
const INDEXED = { KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE } as const;

const howToRegister = (namespace: string, names: SearchAttributeName[]): string =>
  names.map((n) => `temporal operator search-attribute create --namespace ${namespace} --name ${n} --type ${cliType(SEARCH_ATTRIBUTES[n])}`).join('\n  ');

/**
 * Trainings set cd4ml's search attributes, and a workflow that sets an unregistered
 * one fails its workflow tasks. So the control worker checks the namespace before it
 * polls, registers what is missing where it may (dev server, a self-hosted cluster),
 * and otherwise stops, saying what to register.
 */
export async function ensureSearchAttributes(client: Client, namespace: string, log: (msg: string) => void): Promise<void> {
  let present: Record<string, number | null | undefined>;
  try {
    present = (await client.connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (err) {
    // Temporal Cloud answers search attributes through its own API, not the operator service.
    log(`could not list the search attributes of namespace ${namespace} (${(err as Error).message.split('\n')[0]}); make sure these are registered:\n  ${howToRegister(namespace, Object.keys(SEARCH_ATTRIBUTES) as SearchAttributeName[])}`);
    return;
  }
  const names = Object.keys(SEARCH_ATTRIBUTES) as SearchAttributeName[];
  const wrong = names.filter((n) => present[n] != null && present[n] !== INDEXED[SEARCH_ATTRIBUTES[n]]);
  if (wrong.length) {
    throw new TemporalSetupError(`namespace ${namespace} has search attributes of the wrong type: ${wrong.map((n) => `${n} should be ${cliType(SEARCH_ATTRIBUTES[n])}`).join(', ')}; remove them and let the control worker register them again`);
  }
  const missing = names.filter((n) => present[n] == null);
  if (!missing.length) return;
  try {
    await client.connection.operatorService.addSearchAttributes({
      namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, INDEXED[SEARCH_ATTRIBUTES[n]]])),
    });
    await untilQueryable(client, namespace);
    log(`registered the search attributes ${missing.join(', ')} in namespace ${namespace}`);
  } catch (err) {
    if (err instanceof TemporalSetupError) throw err;
    throw new TemporalSetupError(
      `namespace ${namespace} lacks the search attributes cd4ml's trainings set (${missing.join(', ')}), and registering them failed ` +
        `(${(err as Error).message.split('\n')[0]}). Register them, then start the control worker again:\n  ${howToRegister(namespace, missing)}`,
    );
  }
}

/**
 * A cluster uses new search attributes once its namespace cache refreshes (seconds):
 * a training started before that would fail its workflow tasks. The frontend checks
 * the names in a query against that cache, so a query on all of them passing means
 * they are in use.
 */
async function untilQueryable(client: Client, namespace: string, timeoutMs = 30_000): Promise<void> {
  const query = Object.keys(SEARCH_ATTRIBUTES).map((name) => `${name} IS NOT NULL`).join(' AND ');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflowService.countWorkflowExecutions({ namespace, query });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new TemporalSetupError(`namespace ${namespace} registered cd4ml's search attributes but does not use them after ${timeoutMs / 1000} s (${(err as Error).message.split('\n')[0]})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
