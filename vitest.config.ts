import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: keep workers bounded so e2e servers and parsers do not starve each other.
    maxWorkers: 2,
  },
});
