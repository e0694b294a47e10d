import { LatestPointer, ServingState, latestKey, servingKey } from '@cd4ml/contracts';
import type { ReleaseStore } from '@cd4ml/stores';
import { initialState, ServingStateError } from './state.ts';

// serving.json in a release store: read (falling back to latest.json when a project
// has none yet) and changed with a conditional write, so two writers never both win.

export interface StoredState {
  state: ServingState;
  /** The object's version for putTextIf; null when there is no serving.json yet. */
  version: string | null;
}

const zodText = (issues: { path: PropertyKey[]; message: string }[]): string =>
  issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');

export async function readLatest(store: ReleaseStore, project: string): Promise<string | null> {
  const text = await store.getText(latestKey(project));
  if (text === null) return null;
  const parsed = LatestPointer.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${store.locate(latestKey(project))} is invalid: ${zodText(parsed.error.issues)}`);
  return parsed.data.tag;
}

/** serving.json, or the state latest.json implies (live = its tag) when there is none. */
export async function readServingState(store: ReleaseStore, project: string): Promise<StoredState> {
  const key = servingKey(project);
  const before = await store.stat(key);
  if (before === null) return { state: initialState(project, await readLatest(store, project)), version: null };
  const text = await store.getText(key);
  if (text === null) return readServingState(store, project);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${store.locate(key)} is not JSON: ${(err as Error).message}`);
  }
  const parsed = ServingState.safeParse(raw);
  if (!parsed.success) throw new Error(`${store.locate(key)} is invalid: ${zodText(parsed.error.issues)}`);
  // The version read before the text: a write in between makes the later conditional write fail, as it should.
  return { state: parsed.data, version: before.version };
}

/**
 * Applies `change` to the current state and writes it if nobody wrote in between
 * (else reads again and retries). `change` returns null for "nothing to write".
 */
export async function updateServingState(
  store: ReleaseStore, project: string, change: (s: ServingState) => ServingState | null, attempts = 8,
): Promise<ServingState | null> {
  for (let i = 0; i < attempts; i++) {
    const { state, version } = await readServingState(store, project);
    const next = change(state);
    if (next === null) return null;
    if (await store.putTextIf(servingKey(project), `${JSON.stringify(next, null, 2)}\n`, version)) return next;
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 50));
  }
  throw new ServingStateError(`${store.locate(servingKey(project))} kept changing under ${attempts} attempts to write it; try again`);
}
