import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { devPasswords, hashPassword, userName } from '../../infra/rabbitmq/definitions.js';
import { roles } from '../../infra/rabbitmq/permissions.js';
import { parseDuration } from '../../src/config/parsers.js';
import { unknownVariables } from '../../src/config.js';
import { topologyNames } from '../../src/queue/topology.js';
import {
  commandExists,
  configOf,
  opsPort,
  processCommand,
  readYamlDocuments,
  repoFile,
} from './manifests.js';

// infra/compose.yaml cannot run here (no Docker engine): these checks hold it to the code instead.

interface Service {
  image?: string;
  profiles?: string[];
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  volumes?: string[];
  networks?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks: Record<string, unknown>;
}

const [compose] = readYamlDocuments('infra/compose.yaml') as unknown as [Compose];
const services = Object.entries(compose.services);
/** The environment Compose gives a service: `${NAME:-default}` takes `shell[NAME]`, else the default. */
const environmentOf = (service: Service, shell: Record<string, string> = {}) =>
  Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([name, value]) => [
      name,
      String(value).replace(
        /\$\{(\w+):-([^}]*)\}/g,
        (_, variable: string, fallback: string) => shell[variable] ?? fallback,
      ),
    ]),
  );
const clearcutServices = services.filter(([, service]) => service.image === 'clearcut:dev');
const definitions = JSON.parse(readFileSync(repoFile('infra/rabbitmq/definitions.dev.json'), 'utf8')) as {
  vhosts: { name: string }[];
  users: { name: string; password_hash: string }[];
};

/** `KEY=value` lines of an env file. */
function readEnvFile(path: string): Record<string, string> {
  const lines = readFileSync(repoFile(path), 'utf8').split('\n');
  const entries = lines
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      if (at < 1) throw new Error(`${path}: not KEY=value: ${line}`);
      return [line.slice(0, at), line.slice(at + 1)] as const;
    });
  return Object.fromEntries(entries);
}

/** The broker login in an AMQP URL must be a dev user whose password matches its hash. */
function brokerLogin(amqpUrl: string): { user: string; vhost: string } {
  const url = new URL(amqpUrl);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const entry = definitions.users.find((candidate) => candidate.name === user);
  if (!entry) throw new Error(`${user} is not a user of definitions.dev.json`);
  const salt = Buffer.from(entry.password_hash, 'base64').subarray(0, 4);
  if (hashPassword(password, salt) !== entry.password_hash) throw new Error(`wrong password for ${user}`);
  return { user, vhost: decodeURIComponent(url.pathname.slice(1)) };
}

describe('infra/compose.yaml', () => {
  it('references only defined volumes, networks, services and files', () => {
    for (const [name, service] of services) {
      expect(service.image, `${name} has an image`).toMatch(/^[a-z0-9./-]+:[a-z0-9.-]+$/);
      expect(service.networks, `${name} is on the stack's network`).toEqual(['clearcut']);
      for (const network of service.networks ?? []) expect(compose.networks).toHaveProperty(network);
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':') as [string];
        if (source.startsWith('.')) expect(readFileSync(new URL(source, repoFile('infra/')))).toBeTruthy();
        else expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
      for (const file of service.env_file ?? []) readEnvFile(`infra/${file.replace(/^\.\//, '')}`);
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(compose.services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
      }
    }
  });

  it('builds the ClearCut image from infra/Dockerfile with the repository as context', () => {
    expect(clearcutServices.map(([name]) => name).sort()).toEqual([
      'events',
      'gateway',
      'migrate',
      'models',
      'worker',
    ]);
    for (const [, service] of clearcutServices) {
      expect(service.build).toEqual({ context: '..', dockerfile: 'infra/Dockerfile' });
    }
  });

  it('gives every ClearCut service an environment the configuration accepts', () => {
    for (const [name, service] of clearcutServices) {
      const env = environmentOf(service);
      expect(unknownVariables(env), name).toEqual([]);
      expect(() => configOf(env), name).not.toThrow();
    }
  });

  it('runs commands that exist, and probes the port the process listens on', () => {
    for (const [name, service] of clearcutServices) {
      const argv =
        service.command?.[0] === 'sh' ? service.command[2]!.split(' ').slice(0, 4) : service.command!;
      const command = processCommand(argv);
      expect(commandExists(command), `${name}: ${argv.join(' ')}`).toBe(true);
      const port = opsPort(command, configOf(environmentOf(service)));
      if (port === undefined) continue;
      expect(service.healthcheck?.test.join(' '), name).toContain(`http://127.0.0.1:${port}/readyz`);
      const published = [...(service.ports ?? []), ...(service.expose ?? [])];
      expect(
        published.some((entry) => entry.endsWith(String(port))),
        `${name} exposes ${port}`,
      ).toBe(true);
    }
  });

  it('scales workers with deploy.replicas, without host ports that replicas would share', () => {
    expect(compose.services.worker?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(compose.services.worker?.ports).toBeUndefined();
  });

  it('lets a worker drain before compose kills it', () => {
    const worker = compose.services.worker!;
    const grace = parseDuration(worker.stop_grace_period ?? '10s')!;
    expect(grace).toBeGreaterThan(configOf(environmentOf(worker)).worker.drainTimeoutMs);
  });

  it('offers the event consumer alone as the optional `events` profile, which the gateway can hand S3 events to', () => {
    const events = compose.services.events!;
    expect(events.profiles).toEqual(['events']);
    expect(processCommand(events.command!)).toMatchObject({ kind: 'worker', source: 'workers/events.ts' });
    expect(Object.keys(events.depends_on ?? {}).sort()).toEqual(['migrate', 'rabbitmq']);
    expect(services.filter(([, service]) => service.profiles).map(([name]) => name)).toEqual(['events']);
    const gateway = compose.services.gateway!;
    expect(configOf(environmentOf(gateway)).gateway.events).toBe(true);
    expect(configOf(environmentOf(gateway, { CLEARCUT_GATEWAY_EVENTS: 'false' })).gateway.events).toBe(false);
  });

  it('logs each process in as its own broker role, with the dev password of definitions.dev.json', () => {
    const expected = { gateway: 'gateway', events: 'gateway', worker: 'worker' } as const;
    for (const [name, role] of Object.entries(expected)) {
      const login = brokerLogin(compose.services[name]!.environment!.CLEARCUT_AMQP_URL!);
      expect(login).toEqual({ user: userName(role), vhost: definitions.vhosts[0]!.name });
    }
    expect(Object.keys(devPasswords)).toEqual([...roles, 'admin']);
  });

  it('points MinIO at the events exchange as the storage user, declaring it as the gateway does', () => {
    const env = readEnvFile('infra/minio/notify-amqp.dev.env');
    const target = (key: string) => env[`MINIO_NOTIFY_AMQP_${key}_CLEARCUT`];
    expect(target('ENABLE')).toBe('on');
    expect(brokerLogin(target('URL')!).user).toBe(userName('storage'));
    const prefix = compose.services.gateway!.environment!.CLEARCUT_AMQP_PREFIX!;
    expect(target('EXCHANGE')).toBe(topologyNames(prefix).eventsExchange);
    // MinIO re-declares the exchange before each publish: other arguments would close its channel.
    expect([target('EXCHANGE_TYPE'), target('DURABLE'), target('AUTO_DELETED'), target('INTERNAL')]).toEqual([
      'fanout',
      'on',
      'off',
      'off',
    ]);
    expect([target('DELIVERY_MODE'), target('PUBLISHING_CONFIRMS')]).toEqual(['2', 'on']);
    const setup = readFileSync(repoFile('infra/minio/setup.sh'), 'utf8');
    expect(setup).toContain('arn:minio:sqs::CLEARCUT:amqp');
    expect(setup).toMatch(/mc event add .* --event put/);
  });
});

describe('infra/Dockerfile', () => {
  const dockerfile = readFileSync(repoFile('infra/Dockerfile'), 'utf8');
  const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+ /.test(line));

  it('builds on Node 20 with npm ci, skipping the GPU files onnxruntime-node would download', () => {
    const from = instructions.filter((line) => line.startsWith('FROM '));
    expect(from.length).toBeGreaterThan(0);
    for (const line of from) expect(line).toMatch(/^FROM node:20[-.a-z0-9]*( AS \w+)?$/);
    // npm 11 obeys package.json's allowScripts; the image's npm 10 needs the script's own switch.
    expect(instructions).toContain('RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund');
    const manifest = JSON.parse(readFileSync(repoFile('package.json'), 'utf8'));
    expect(manifest.allowScripts['onnxruntime-node']).toBe(false);
    expect(dockerfile).toContain('npm run build');
    expect(manifest.scripts.build).toContain('tsconfig.build.json');
  });

  it('runs a built worker by default and exposes every ops port', () => {
    const cmd = instructions.find((line) => line.startsWith('CMD '))!;
    const command = processCommand(JSON.parse(cmd.slice(4)));
    expect(commandExists(command)).toBe(true);
    const defaults = configOf({});
    expect(instructions).toContain(
      `EXPOSE ${defaults.worker.httpPort} ${defaults.gateway.httpPort} ${defaults.gateway.eventsHttpPort}`,
    );
  });

  it('keeps weights and local state out of the build context', () => {
    const ignored = readFileSync(repoFile('infra/Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const path of ['node_modules', 'dist', 'models/weights', '.cache']) expect(ignored).toContain(path);
  });
});
