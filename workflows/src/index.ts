export { trainModel } from './train-model.ts';
export { buildImage } from './build-image.ts';
export { locationLease } from './location-lease.ts';
