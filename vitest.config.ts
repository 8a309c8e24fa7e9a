import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // They restart RabbitMQ and PostgreSQL: run alone afterwards (vitest.restarts.config.ts).
    exclude: ['test/restarts/**', '**/node_modules/**'],
    // Two cores: real services and ONNX inference make wider parallelism slower, not faster.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
