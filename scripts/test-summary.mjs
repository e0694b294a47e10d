// Prints vitest's totals as one plain line ("vitest: 134 passed, 0 failed, 2 skipped")
// that CI tools read regardless of the test runner.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
} catch (err) {
  console.log(`vitest: no results in ${file} (${err.message})`);
}
