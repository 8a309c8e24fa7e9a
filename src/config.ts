// The one place that reads the environment. Everything else receives a parsed Config.
import { apiSection } from './config/api.js';
import { brokerSection, databaseSection, logSection } from './config/core.js';
import { dashboardSection } from './config/dashboard.js';
import type { Variables } from './config/define.js';
import { gatewaySection } from './config/gateway.js';
import { inferenceSection } from './config/inference.js';
import { modelsSection } from './config/models.js';
import { producerSection } from './config/producer.js';
import { retentionSection } from './config/retention.js';
import { storageSection } from './config/storage.js';
import { unknownVariableWarnings } from './config/unknown-variables.js';
import { webhooksSection } from './config/webhooks.js';
import { workerSection } from './config/worker.js';

const sections = {
  log: logSection,
  database: databaseSection,
  broker: brokerSection,
  models: modelsSection,
  inference: inferenceSection,
  storage: storageSection,
  gateway: gatewaySection,
  worker: workerSection,
  producer: producerSection,
  retention: retentionSection,
  api: apiSection,
  webhooks: webhooksSection,
  dashboard: dashboardSection,
} satisfies Record<string, AnySection>;

type AnySection = {
  readonly variables: Variables;
  readonly build: (values: never) => unknown;
  readonly check: (values: never) => string[];
};
type Sections = typeof sections;
export type Config = { readonly [K in keyof Sections]: ReturnType<Sections[K]['build']> };
export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Environment = process.env): Config {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, { variables, build, check }] of Object.entries(sections) as [string, AnySection][]) {
    const values: Record<string, unknown> = {};
    for (const [variableName, spec] of Object.entries(variables)) {
      const raw = env[variableName];
      const given = raw !== undefined && raw !== '';
      if (!given && spec.optional) continue;
      const input = given ? raw : spec.default;
      if (input === undefined) {
        problems.push(`${variableName} is not set: expected ${spec.expected}. ${spec.doc}`);
        continue;
      }
      const parsed = spec.schema.safeParse(input);
      if (parsed.success) values[variableName] = parsed.data;
      else {
        const shown = spec.secret ? '(value hidden)' : JSON.stringify(input);
        problems.push(`${variableName}=${shown} is invalid: expected ${spec.expected}.`);
      }
    }
    if (problems.length > 0) continue;
    problems.push(...check(values as never));
    if (problems.length === 0) config[name] = build(values as never);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as Config;
}

/** A warning for each CLEARCUT_* variable in `env` that configures nothing (a typo, most likely). */
export function unknownVariables(env: Environment): string[] {
  return unknownVariableWarnings(
    env,
    configVariables().map((variable) => variable.name),
  );
}

/** Every variable the configuration reads, for documentation and `clearcut config`. */
export function configVariables(): { name: string; doc: string; default?: string; secret: boolean }[] {
  return Object.values(sections).flatMap(({ variables }) =>
    Object.entries(variables as Variables).map(([name, spec]) => ({
      name,
      doc: spec.doc,
      default: spec.default,
      secret: spec.secret ?? false,
    })),
  );
}
