import { defineConfig } from 'vitest/config';

// Tests that restart the machine's RabbitMQ or PostgreSQL: one file at a time, after the main
// suite (which excludes them), so no other test sees its services vanish.
export default defineConfig({
  test: {
    include: ['test/restarts/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
