import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  // The examples import b10 by its package name, as a module in another project does.
  resolve: {
    alias: [
      { find: /^b10$/, replacement: here('./protocol/index.ts') },
      { find: /^b10\/testing$/, replacement: here('./src/testing/index.ts') },
    ],
  },
  test: {
    // docs/ holds example tests that the suite runs too, so they cannot rot.
    include: ['test/**/*.test.ts', 'docs/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // The JSON file is what .ci/run reads for its "N passed, M failed" line.
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
  },
});
