// ApplicationFailure types. Deterministic ones are non-retryable; the workflow's
// retry policies list them so a retry never repeats a failure that cannot change.
export const FailureType = {
  ConfigInvalid: 'ConfigInvalid',
  UnknownLocation: 'UnknownLocation',
  UnknownCommit: 'UnknownCommit',
  MissingPipeline: 'MissingPipeline',
  StageFailed: 'StageFailed',
  GateRejected: 'GateRejected',
  CandidateInvalid: 'CandidateInvalid',
  TagConflict: 'TagConflict',
  ReleaseConflict: 'ReleaseConflict',
  CapacityUnavailable: 'CapacityUnavailable',
  WorkerDidNotStart: 'WorkerDidNotStart',
  MaxRuntimeExceeded: 'MaxRuntimeExceeded',
  /** The training's machine cost passed its --budget: it was stopped. */
  BudgetExceeded: 'BudgetExceeded',
  /** The location worker that held a training's checkout went away, again and again. */
  WorkerLost: 'WorkerLost',
  /** The training's machine went away under it (terminated, shutting down, or stopped, not by cd4ml). */
  MachineLost: 'MachineLost',
  /** EC2 reclaims the training's spot instance (its notice, or its state): the training resumes on another machine. */
  SpotInterrupted: 'SpotInterrupted',
  /** The Dockerfile does not build at this commit: a retry builds the same thing. */
  ImageBuildFailed: 'ImageBuildFailed',
  /** The registry refused the credentials, or they are not set on the worker. */
  RegistryDenied: 'RegistryDenied',
  /** A service refused the credentials a named environment variable holds (401/403). */
  CredentialsRejected: 'CredentialsRejected',
  /** GitLab refused a release page write as invalid (4xx other than auth). */
  ReleasePageRejected: 'ReleasePageRejected',
  /** GitLab did not answer, timed out or failed (5xx): retried. */
  GitLabUnavailable: 'GitLabUnavailable',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.ConfigInvalid,
  FailureType.UnknownLocation,
  FailureType.UnknownCommit,
  FailureType.MissingPipeline,
  FailureType.StageFailed,
  FailureType.CandidateInvalid,
  FailureType.TagConflict,
  FailureType.ReleaseConflict,
  FailureType.CapacityUnavailable,
  FailureType.WorkerDidNotStart,
  FailureType.MaxRuntimeExceeded,
  FailureType.BudgetExceeded,
  FailureType.MachineLost,
  FailureType.SpotInterrupted,
  FailureType.ImageBuildFailed,
  FailureType.RegistryDenied,
  FailureType.CredentialsRejected,
  FailureType.ReleasePageRejected,
];
