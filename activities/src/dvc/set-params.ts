import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { isMap, isSeq, parseDocument } from 'yaml';
import { FailureType, describeSetting, type SweepSetting } from '@cd4ml/contracts';

/** A dotted key as a YAML path: digits index a list (train.features.0), as in dvc. */
const yamlPath = (key: string): (string | number)[] => key.replace(/^\+/, '').split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));

/**
 * `setting` applied to params.yaml's text as `dvc exp run -S` does: each dotted key
 * set to its value, everything else (comments, order, other keys) kept. A key
 * params.yaml lacks is refused unless written `+key` (dvc's way to add one), so a
 * typo does not train an unchanged model.
 */
export function applySetting(text: string, setting: SweepSetting, file = 'params.yaml'): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  for (const [key, value] of Object.entries(setting)) {
    const at = yamlPath(key);
    if (!key.startsWith('+') && !doc.hasIn(at)) {
      const parent = at.length > 1 ? doc.getIn(at.slice(0, -1)) : doc.contents;
      const known = isMap(parent) ? parent.items.map((i) => String((i.key as { value?: unknown })?.value ?? i.key)) : isSeq(parent) ? [`0..${parent.items.length - 1}`] : [];
      throw new Error(
        `${key}: not in ${file}${known.length ? ` (${at.slice(0, -1).join('.') || 'top level'} has ${known.join(', ')})` : ''}; fix the key, or write +${key} to add it`,
      );
    }
    doc.setIn(at, value);
  }
  return doc.toString();
}

/** Sets a trial's parameters in the checkout's params.yaml; running it twice gives the same file. */
export async function setParams(dir: string, setting: SweepSetting): Promise<{ params: string }> {
  const file = path.join(dir, 'params.yaml');
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch {
    /* no params.yaml: only +keys can be set, into a new one */
  }
  let next: string;
  try {
    next = applySetting(text, setting);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`sweep setting ${describeSetting(setting)}: ${(err as Error).message}`, FailureType.ConfigInvalid);
  }
  if (next !== text) await writeFile(file, next);
  return { params: describeSetting(setting) };
}
