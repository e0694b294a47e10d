// Groups the holdout's rows by a per-row category key for the categorical
// bootstrap: which categories occur, how many rows each has, and which
// category each row is in. Largest first, so the conditional binomials leave
// few draws to the many small categories and stop once none are left.

export interface RowCategories {
  /** The key of each category that occurs, largest category first. */
  keys: Float64Array;
  /** Rows in each category, in the same order. */
  sizes: Int32Array;
  /** The category (an index into keys) of each row. */
  categoryOf: Int32Array;
}

// Up to this many possible keys (or rows, if more) a dense table beats a Map.
const DENSE_KEYS = 1 << 16;

/** keys[i] is row i's category, an integer in [0, range). */
export function rowCategories(keys: Float64Array, range: number): RowCategories {
  const { ids, found } = firstSeenIds(keys, range);
  const sizes = new Int32Array(found.length);
  for (let i = 0; i < ids.length; i++) sizes[ids[i]!]!++;
  const order = Array.from(found, (_, id) => id).sort((a, b) => sizes[b]! - sizes[a]! || found[a]! - found[b]!);
  const rank = new Int32Array(found.length);
  order.forEach((id, j) => { rank[id] = j; });
  return {
    keys: Float64Array.from(order, (id) => found[id]!),
    sizes: Int32Array.from(order, (id) => sizes[id]!),
    categoryOf: ids.map((id) => rank[id]!),
  };
}

/** Numbers the keys in the order they first occur: ids[i] is row i's, found[id] the key. */
function firstSeenIds(keys: Float64Array, range: number): { ids: Int32Array; found: number[] } {
  const ids = new Int32Array(keys.length);
  const found: number[] = [];
  if (range <= Math.max(DENSE_KEYS, keys.length)) {
    const idOf = new Int32Array(range).fill(-1);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (idOf[key]! < 0) idOf[key] = found.push(key) - 1;
      ids[i] = idOf[key]!;
    }
    return { ids, found };
  }
  const idOf = new Map<number, number>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    let id = idOf.get(key);
    if (id === undefined) idOf.set(key, (id = found.push(key) - 1));
    ids[i] = id;
  }
  return { ids, found };
}
