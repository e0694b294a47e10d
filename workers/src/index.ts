export { createControlWorker, workflowsPath, type ControlWorkerOptions } from './control-worker-setup.ts';
export { createLocationWorker, type LocationWorkerOptions } from './location-worker-setup.ts';
export { cd4mlHome, defaultStore, defaultVenv, defaultWorkdir } from './paths.ts';
