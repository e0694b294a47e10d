export { trainModel } from './train-model.ts';
export { locationLease } from './location-lease.ts';
