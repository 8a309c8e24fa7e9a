import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';

// Restarts of the machine's real RabbitMQ and PostgreSQL. Every other test file talks to them
// too, so these tests run in a pass of their own after the main suite (vitest.restarts.config.ts),
// and always leave the service running, even when the test fails.

const run = promisify(execFile);

/** Stops the RabbitMQ application, waits `downMs`, starts it again and waits until it serves. */
export async function restartRabbitMq(downMs: number): Promise<void> {
  await run('rabbitmqctl', ['stop_app']);
  try {
    await new Promise((resolve) => setTimeout(resolve, downMs));
  } finally {
    await run('rabbitmqctl', ['start_app']);
    await run('rabbitmqctl', ['await_startup']);
  }
}

/** `pg_ctlcluster VERSION main restart`: every connection is dropped, the server comes back. */
export async function restartPostgres(): Promise<void> {
  const [version] = readdirSync('/etc/postgresql');
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version!, 'main', 'restart']);
}
