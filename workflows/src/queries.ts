// Signals and queries for clients: importing these does not load workflow code.
export { progressQuery } from './progress.ts';
export { leaseStateQuery, acquireSignal, releaseSignal } from './location-lease.ts';
export { sweepStatusQuery } from './sweep-query.ts';
