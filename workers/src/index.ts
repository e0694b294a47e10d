export { createControlWorker, workflowsPath, type ControlWorker, type ControlWorkerOptions } from './control-worker-setup.ts';
export { DEFAULT_DEPLOYMENT, bundleBuildId, type DeploymentSettings } from './deployment.ts';
export { createLocationWorker, type LocationWorker, type LocationWorkerOptions } from './location-worker-setup.ts';
export { LocationTaken } from './location-fence.ts';
export { locationWorkerIdentity } from './location-identity.ts';
export { cd4mlHome, defaultStore, defaultVenv, defaultWorkdir } from './paths.ts';
