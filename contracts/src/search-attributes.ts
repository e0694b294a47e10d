// Custom search attributes of a training, so the Web UI and
// `temporal workflow list --query 'Cd4mlProject="penguins" AND Cd4mlDecision="rejected"'`
// find runs by what they were. One list: the workflow sets them, the dev server
// and the test cluster register them, and the control worker checks for them.
// Types as Temporal names them (TypeScript SDK: SearchAttributeType; CLI: --type Keyword).

export const SEARCH_ATTRIBUTES = {
  Cd4mlProject: 'KEYWORD',
  Cd4mlLocation: 'KEYWORD',
  Cd4mlReleaseTag: 'KEYWORD',
  Cd4mlRequestedBy: 'KEYWORD',
  /** accepted, rejected, failed or cancelled */
  Cd4mlDecision: 'KEYWORD',
  /** The gate metric's value as cd4ml measured it. */
  Cd4mlMetric: 'DOUBLE',
} as const;

/** The values of Cd4mlDecision. */
export const TRAINING_DECISIONS = ['accepted', 'rejected', 'failed', 'cancelled'] as const;
export type TrainingDecision = (typeof TRAINING_DECISIONS)[number];

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

/** `Keyword`, `Double`: how the Temporal CLI spells a type. */
export const cliType = (type: (typeof SEARCH_ATTRIBUTES)[SearchAttributeName]): string => type.charAt(0) + type.slice(1).toLowerCase();
