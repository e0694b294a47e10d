// What the gate's pure computations answer: a value, or a sentence saying what
// is wrong with the data. Bad holdouts and bad model outputs are expected
// inputs here, so nothing in metrics/ or statistics/ throws on them.

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): Outcome<T> => ({ ok: false, error });
