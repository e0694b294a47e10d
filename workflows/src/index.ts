export { trainModel } from './train-model.ts';
export { locationLease } from './location-lease.ts';
export { reapMachines } from './reap-machines.ts';
