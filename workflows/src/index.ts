export { trainModel } from './train-model.ts';
export { buildImage } from './build-image.ts';
export { locationLease } from './location-lease.ts';
export { reapMachines } from './reap-machines.ts';
export { nightlyTraining } from './nightly-training.ts';
export { fenceLocation } from './fence-location.ts';
export { sweep } from './sweep.ts';
