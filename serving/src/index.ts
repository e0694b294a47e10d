export { createModelRegistry, type ModelRegistryOptions } from './model/registry.ts';
export { ReleaseRefusedError } from './model/release.ts';
export type { Logger } from './model/logger.ts';
export {
  InferenceError,
  type InferResult, type InferTensor, type ModelRegistry, type RefusedRelease, type ServedModel, type TensorData,
} from './model/types.ts';
