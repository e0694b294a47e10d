import type { ModelSignature } from './tensor.ts';

/** A model that could not be loaded (phase 'load') or run on the inputs (phase 'run'); `model` once it is known. */
export class OnnxError extends Error {
  constructor(readonly phase: 'load' | 'run', message: string, readonly model?: ModelSignature) {
    super(message);
    this.name = 'OnnxError';
  }
}

/**
 * Inputs that do not fit the model (names, datatypes, shapes, values), found
 * before anything runs. A run failure of the caller's making: serving answers 400.
 */
export class InputError extends OnnxError {
  constructor(message: string, model?: ModelSignature) {
    super('run', message, model);
    this.name = 'InputError';
  }
}

/** Why an aborted run stopped: the OnnxError a timeout aborted with, else a cancel. */
export const stopError = (signal: AbortSignal): OnnxError =>
  signal.reason instanceof OnnxError ? signal.reason : new OnnxError('run', 'cancelled');
