import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests that spawn bin/cartographer.js run dist/: build it first if a source changed.
    globalSetup: ['test/support/build-dist.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: keep workers bounded so e2e servers and parsers do not starve each other.
    maxWorkers: 2,
  },
});
