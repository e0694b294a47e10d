import { upsertSearchAttributes } from '@temporalio/workflow';
import { defineSearchAttributeKey, type SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES, type SearchAttributeName } from '@cd4ml/contracts/search-attributes';

const key = (name: SearchAttributeName) => defineSearchAttributeKey(name, SEARCH_ATTRIBUTES[name] as SearchAttributeType);

/** Sets the training's search attributes (a value of null clears one). */
export function setSearchAttributes(values: Partial<Record<SearchAttributeName, string | number | null>>): void {
  upsertSearchAttributes(Object.entries(values).map(([name, value]) => ({ key: key(name as SearchAttributeName), value } as never)));
}
