// The demo's choices, apart from its code: \`cd4ml --help\` shows them without loading the demo.

export const EXAMPLES = ['penguins', 'diabetes', 'breast-cancer'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

/** Ports of the demo server: CD4ML_DEMO_PORT (default 7233), the Web UI 1000 above. */
export const DEFAULT_PORT = 7233;
