import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // The JSON file is what .ci/run reads for its "N passed, M failed" line.
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
  },
});
