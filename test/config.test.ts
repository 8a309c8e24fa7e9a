import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withConfigTable } from '../infra/dev/config-docs.js';
import { unknownVariableWarnings } from '../src/config/unknown-variables.js';
import { ConfigError, configVariables, loadConfig } from '../src/config.js';
import { startService } from '../src/ops/service-start.js';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('serves every default on an empty environment', () => {
    const config = loadConfig({});
    expect(config.database.schema).toBe('clearcut');
    expect(config.broker.url).toBe('amqp://guest:guest@127.0.0.1:5672');
    expect(config.gateway.timestampWindowMs).toBe(300_000);
    expect(config.gateway.maxBodyBytes).toBe(256 * 1024);
    expect(config.inference.threads).toBeGreaterThanOrEqual(1);
  });

  it('parses durations, byte sizes and flags', () => {
    const config = loadConfig({
      CLEARCUT_TIMESTAMP_WINDOW: '2m',
      CLEARCUT_MAX_INPUT_BYTES: '64MiB',
      CLEARCUT_S3_ENDPOINT: 'http://127.0.0.1:9000',
      CLEARCUT_S3_FORCE_PATH_STYLE: 'false',
    });
    expect(config.gateway.timestampWindowMs).toBe(120_000);
    expect(config.inference.maxInputBytes).toBe(64 * 1024 * 1024);
    expect(config.storage.forcePathStyle).toBe(false);
    expect(config.storage.checksum).toBe('when_required');
  });

  it('names the variable, the value and what is expected, for every wrong value at once', () => {
    const problems = problemsOf({ CLEARCUT_INFERENCE_THREADS: 'many', CLEARCUT_AMQP_PREFIX: 'Bad Prefix' });
    expect(problems).toEqual([
      'CLEARCUT_AMQP_PREFIX="Bad Prefix" is invalid: expected a lowercase identifier ([a-z][a-z0-9_]*).',
      'CLEARCUT_INFERENCE_THREADS="many" is invalid: expected a whole number from 1 to 256.',
    ]);
  });

  it('refuses half of a required pair', () => {
    expect(problemsOf({ CLEARCUT_S3_ACCESS_KEY_ID: 'AKIA' })).toEqual([
      'CLEARCUT_S3_ACCESS_KEY_ID and CLEARCUT_S3_SECRET_ACCESS_KEY go together: set both, or neither to use the AWS default credential chain.',
    ]);
  });

  it('reads the broker reconnect backoff', () => {
    const config = loadConfig({
      CLEARCUT_AMQP_RECONNECT_DELAY: '200ms',
      CLEARCUT_AMQP_RECONNECT_MAX_DELAY: '1m',
    });
    expect(config.broker.reconnect).toEqual({ initialMs: 200, maxMs: 60_000 });
    expect(
      problemsOf({ CLEARCUT_AMQP_RECONNECT_DELAY: '5s', CLEARCUT_AMQP_RECONNECT_MAX_DELAY: '1s' }),
    ).toEqual([
      'CLEARCUT_AMQP_RECONNECT_MAX_DELAY (1000 ms) is shorter than CLEARCUT_AMQP_RECONNECT_DELAY (5000 ms): make the maximum at least the first delay',
    ]);
  });

  it('reads the served models: catalog names, the default among them; synthetic models off unless allowed', () => {
    const config = loadConfig({ CLEARCUT_MODEL: 'u2netp', CLEARCUT_MODELS: 'u2netp, u2net-int8' });
    expect(config.models.served).toEqual(['u2netp', 'u2net-int8']);
    expect(config.models.allowSynthetic).toBe(false);
    expect(loadConfig({}).models.served).toEqual(['u2net']);
    expect(loadConfig({ CLEARCUT_ALLOW_SYNTHETIC_MODELS: 'true' }).models.allowSynthetic).toBe(true);
    expect(problemsOf({ CLEARCUT_MODELS: 'u2net;rm -rf' })[0]).toMatch(
      /^CLEARCUT_MODELS="u2net;rm -rf" is invalid: expected comma-separated distinct names among u2net, u2netp, /,
    );
    expect(problemsOf({ CLEARCUT_MODELS: 'u2net,u2net' })[0]).toMatch(
      /^CLEARCUT_MODELS="u2net,u2net" is invalid/,
    );
    expect(problemsOf({ CLEARCUT_MODELS: 'u2netp' })).toEqual([
      'CLEARCUT_MODEL="u2net" is not among CLEARCUT_MODELS (u2netp): jobs naming no model would be refused. Add it to CLEARCUT_MODELS or choose one of them.',
    ]);
    expect(problemsOf({ CLEARCUT_MODEL: 'u3net' })[0]).toMatch(
      /^CLEARCUT_MODEL="u3net" is not a known model/,
    );
  });

  it('never echoes a secret value', () => {
    const problems = problemsOf({ CLEARCUT_DATABASE_URL: 'mysql://root:hunter2@db' });
    expect(problems).toEqual([
      'CLEARCUT_DATABASE_URL=(value hidden) is invalid: expected a postgres:// or postgresql:// URL.',
    ]);
    expect(problems.join()).not.toContain('hunter2');
  });

  it('refuses a master key that is not base64 of 32 bytes, before any command needs it', () => {
    const expected =
      'CLEARCUT_MASTER_KEY=(value hidden) is invalid: expected base64 of exactly 32 bytes (openssl rand -base64 32).';
    expect(problemsOf({ CLEARCUT_MASTER_KEY: 'short' })).toEqual([expected]);
    expect(problemsOf({ CLEARCUT_MASTER_KEY: Buffer.alloc(31, 7).toString('base64') })).toEqual([expected]);
    expect(problemsOf({ CLEARCUT_MASTER_KEY: ` ${Buffer.alloc(32, 7).toString('base64')}\n` })).toEqual([]);
  });

  it('names CLEARCUT_* variables that configure nothing, with the nearest real one', () => {
    const known = configVariables().map((variable) => variable.name);
    const env = {
      CLEARCUT_MODLE_DIR: 'models',
      CLEARCUT_NONSENSE: '1',
      CLEARCUT_MODEL_DIR: 'models',
      CLEARCUT_TEST_KEEP: '1',
      PATH: '/bin',
    };
    expect(unknownVariableWarnings(env, known)).toEqual([
      'CLEARCUT_MODLE_DIR is not a ClearCut variable and is ignored; did you mean CLEARCUT_MODEL_DIR?',
      'CLEARCUT_NONSENSE is not a ClearCut variable and is ignored',
    ]);
  });

  it('lists the misspelt variable with the problems when a service refuses its configuration', () => {
    expect(() =>
      startService({ CLEARCUT_GATEWAY_PREFETCH: 'lots', CLEARCUT_GATEWAY_PREFETHC: '10' }, 'test'),
    ).toThrow(
      expect.objectContaining({
        problems: [
          expect.stringMatching(/^CLEARCUT_GATEWAY_PREFETCH="lots" is invalid/),
          'CLEARCUT_GATEWAY_PREFETHC is not a ClearCut variable and is ignored; did you mean CLEARCUT_GATEWAY_PREFETCH?',
        ],
      }),
    );
  });

  it('is documented variable by variable in the README (npm run docs:config)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(withConfigTable(readme)).toBe(readme);
    for (const { name } of configVariables()) expect(readme).toContain(`| \`${name}\` |`);
  });
});
