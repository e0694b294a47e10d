import { defineConfig } from 'vitest/config';

// Unit tests run in parallel; integration tests share one Temporal dev server
// per file and real dvc/git, so they run one file at a time.
export default defineConfig({
  test: {
    pool: 'forks',
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
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
