import { defineConfig } from 'vitest/config';

// Unit tests run in parallel. Integration files each start their own servers on free ports in
// their own temp folders, so two run at once: most of their time is spent waiting on timers,
// EC2 state changes and child processes, not on the CPU (2 cores here). CD4ML_TEST_FORKS sets it.
const integrationForks = Number(process.env.CD4ML_TEST_FORKS ?? 2);
export default defineConfig({
  test: {
    pool: 'forks',
    // Per project, vitest takes only singleFork/isolate: the fork count is global (unit files too).
    poolOptions: { forks: { maxForks: Math.max(1, integrationForks), minForks: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          setupFiles: ['test/setup.ts'],
          include: ['test/unit/**/*.test.ts', 'test/*.test.ts'],
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          setupFiles: ['test/setup.ts'],
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          poolOptions: { forks: { singleFork: integrationForks <= 1 } },
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
