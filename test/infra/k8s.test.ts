import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { unknownVariables } from '../../src/config.js';
import { topologyNames } from '../../src/queue/topology.js';
import { commandExists, configOf, opsPort, processCommand, readYamlDocuments } from './manifests.js';

// The Kubernetes manifests cannot be applied here (no cluster): these checks hold them to the code.

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: Record<string, unknown>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command: string[];
  ports?: { name: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string } }[];
  env?: EnvVar[];
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[]; enableServiceLinks?: boolean };
}

const directory = 'infra/k8s';
const kustomization = readYamlDocuments(`${directory}/kustomization.yaml`)[0] as { resources: string[] };
const objects = kustomization.resources.flatMap(
  (file) => readYamlDocuments(`${directory}/${file}`) as unknown as K8sObject[],
);
const find = (kind: string, name: string) => {
  const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name} in ${directory}`);
  return object;
};
const configMap = find('ConfigMap', 'clearcut-config');
const secret = find('Secret', 'clearcut-secrets');
const workloads = objects.filter((object) => object.kind === 'Deployment' || object.kind === 'Job');
const templateOf = (object: K8sObject) => object.spec!.template as PodTemplate;
const deployments = objects.filter((object) => object.kind === 'Deployment');

// The optional component infra/k8s/events: the event consumer in Deployments of its own.
const component = readYamlDocuments(`${directory}/events/kustomization.yaml`)[0] as {
  kind: string;
  resources: string[];
  patches: { target: { kind: string; name: string }; patch: string }[];
};
const componentObjects = component.resources.flatMap(
  (file) => readYamlDocuments(`${directory}/events/${file}`) as unknown as K8sObject[],
);
const componentDeployments = componentObjects.filter((object) => object.kind === 'Deployment');

/** The environment a container sees: its ConfigMaps, then its env entries (secrets as stored). */
/** A template secret as an operator fills it in: a master key of the right form, a password elsewhere. */
function filledIn(key: string, value: string): string {
  if (!value.includes('REPLACE_ME')) return value;
  return key === 'master-key'
    ? Buffer.alloc(32, 7).toString('base64')
    : value.replaceAll('REPLACE_ME', 'secret');
}

function containerEnv(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    Object.assign(env, find('ConfigMap', source.configMapRef!.name).data);
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    const stored = ref ? find('Secret', ref.name).stringData?.[ref.key] : variable.value;
    const value = ref && stored !== undefined ? filledIn(ref.key, stored) : stored;
    if (value === undefined)
      throw new Error(`${variable.name}: secret key ${ref?.name}/${ref?.key} is missing`);
    env[variable.name] = value;
  }
  return env;
}

describe('infra/k8s', () => {
  it('lists every manifest of the folder in kustomization.yaml', () => {
    const files = readdirSync(new URL(`../../${directory}/`, import.meta.url)).filter(
      (file) => file.endsWith('.yaml') && file !== 'kustomization.yaml',
    );
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('gives every object an apiVersion, a kind and a name', () => {
    expect(objects.length).toBeGreaterThan(5);
    for (const object of objects) {
      expect(object.apiVersion, JSON.stringify(object.metadata)).toMatch(/^([a-z.]+\/)?v[0-9a-z]+$/);
      expect(object.kind).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('selects the pods each Deployment makes', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['clearcut-gateway', 'clearcut-worker']);
    for (const deployment of deployments) {
      const selector = (deployment.spec!.selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(templateOf(deployment).metadata.labels).toMatchObject(selector);
    }
    const budget = find('PodDisruptionBudget', 'clearcut-gateway');
    expect(templateOf(find('Deployment', 'clearcut-gateway')).metadata.labels).toMatchObject(
      (budget.spec!.selector as { matchLabels: Record<string, string> }).matchLabels,
    );
  });

  it('gives every container an environment the configuration accepts and a command that exists', () => {
    for (const workload of [...workloads, ...componentDeployments]) {
      const spec = templateOf(workload).spec;
      for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        const where = `${workload.metadata.name}/${container.name}`;
        const env = containerEnv(container);
        expect(unknownVariables(env), where).toEqual([]);
        expect(() => configOf(env), where).not.toThrow();
        expect(container.image, where).toBe('clearcut');
        // Kubernetes expands $(NAME) from the container's environment.
        const argv = container.command.map((word) => word.replace(/^\$\((\w+)\)$/, (_, name) => env[name]!));
        expect(
          argv.every((word) => word !== undefined),
          where,
        ).toBe(true);
        expect(commandExists(processCommand(argv)), `${where}: ${argv.join(' ')}`).toBe(true);
      }
    }
  });

  it('keeps service links out of every pod (a Service clearcut-api would set CLEARCUT_API_PORT=tcp://...)', () => {
    for (const workload of [...workloads, ...componentDeployments])
      expect(templateOf(workload).spec.enableServiceLinks, workload.metadata.name).toBe(false);
    // what a service link would set, and why it must not
    expect(() => configOf({ CLEARCUT_API_PORT: 'tcp://10.0.0.1:8080' })).toThrow(/CLEARCUT_API_PORT/);
  });

  it('probes /healthz and /readyz on the port each process serves, and requests resources', () => {
    for (const deployment of [...deployments, ...componentDeployments]) {
      const [container] = templateOf(deployment).spec.containers as [Container];
      const where = deployment.metadata.name;
      const port = opsPort(processCommand(container.command), configOf(containerEnv(container)));
      const named = container.ports?.find((candidate) => candidate.name === 'http');
      expect(named?.containerPort, where).toBe(port);
      expect(container.livenessProbe?.httpGet, where).toEqual({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe?.httpGet, where).toEqual({ path: '/readyz', port: 'http' });
      if (container.startupProbe) expect(container.startupProbe.httpGet.path).toBe('/healthz');
      expect(container.resources?.requests?.cpu, where).toBeDefined();
      expect(container.resources?.requests?.memory, where).toBeDefined();
      expect(container.resources?.limits?.memory, where).toBeDefined();
      const annotations = (templateOf(deployment).metadata as { annotations?: Record<string, string> })
        .annotations;
      expect(annotations?.['prometheus.io/port'], where).toBe(String(port));
    }
  });

  it('sizes the worker for one ORT session on as many cores as inference threads', () => {
    const [worker] = templateOf(find('Deployment', 'clearcut-worker')).spec.containers as [Container];
    const config = configOf(containerEnv(worker));
    expect(Number(worker.resources!.requests!.cpu)).toBe(config.inference.threads);
    expect(worker.resources!.requests!.memory).toMatch(/^\d+(Mi|Gi)$/);
    expect(
      find('Deployment', 'clearcut-worker').spec!.replicas,
      'KEDA owns the replica count',
    ).toBeUndefined();
  });

  it('gives the gateway the master key and each role its own broker user', () => {
    const login = (name: string) => {
      const [container] = templateOf(find('Deployment', name)).spec.containers as [Container];
      const env = containerEnv(container);
      return { user: new URL(env.CLEARCUT_AMQP_URL!).username, masterKey: env.CLEARCUT_MASTER_KEY };
    };
    expect(login('clearcut-gateway').user).toBe('clearcut-gateway');
    expect(login('clearcut-gateway').masterKey).toBeDefined();
    expect(login('clearcut-worker')).toEqual({ user: 'clearcut-worker', masterKey: undefined });
    expect(Object.values(secret.stringData!).every((value) => value.includes('REPLACE_ME'))).toBe(true);
    // a template applied as it is stops the gateway at start, naming the variable
    expect(() => configOf({ CLEARCUT_MASTER_KEY: secret.stringData!['master-key']! })).toThrow(
      /CLEARCUT_MASTER_KEY=\(value hidden\) is invalid/,
    );
  });

  it('scales the worker Deployment with KEDA on the real task queues', () => {
    const scaled = find('ScaledObject', 'clearcut-worker');
    expect(scaled.apiVersion).toBe('keda.sh/v1alpha1');
    expect((scaled.spec!.scaleTargetRef as { name: string }).name).toBe('clearcut-worker');
    const names = topologyNames(configMap.data!.CLEARCUT_AMQP_PREFIX!);
    const triggers = scaled.spec!.triggers as {
      type: string;
      metadata: Record<string, string>;
      authenticationRef: { name: string };
    }[];
    expect(triggers.map((trigger) => trigger.metadata.queueName).sort()).toEqual(
      [names.tasksQueue, names.priorityTasksQueue].sort(),
    );
    for (const trigger of triggers) {
      expect(trigger.type).toBe('rabbitmq');
      expect(trigger.metadata).toMatchObject({ mode: 'QueueLength', protocol: 'http' });
      expect(Number(trigger.metadata.value)).toBeGreaterThan(0);
      const auth = find('TriggerAuthentication', trigger.authenticationRef.name);
      for (const ref of auth.spec!.secretTargetRef as { name: string; key: string }[]) {
        expect(find('Secret', ref.name).stringData).toHaveProperty(ref.key);
      }
      const host = new URL(find('Secret', 'clearcut-keda-rabbitmq').stringData!.host!);
      expect(host.username).toBe('clearcut-autoscaler');
      expect(decodeURIComponent(host.pathname.slice(1))).toBe(trigger.metadata.vhostName);
    }
  });

  it('runs the migrations as a Job', () => {
    const job = find('Job', 'clearcut-migrate');
    const [container] = templateOf(job).spec.containers as [Container];
    expect(processCommand(container.command)).toEqual({ kind: 'cli', command: 'migrate', args: [] });
  });

  it('offers the standalone event consumer as an optional component that the gateways hand S3 events to', () => {
    expect(component.kind).toBe('Component');
    expect(componentDeployments.map((deployment) => deployment.metadata.name)).toEqual(['clearcut-events']);
    const [events] = templateOf(componentDeployments[0]!).spec.containers as [Container];
    expect(processCommand(events.command)).toMatchObject({ kind: 'worker', source: 'workers/events.ts' });
    expect(new URL(containerEnv(events).CLEARCUT_AMQP_URL!).username).toBe('clearcut-gateway');
    const budget = componentObjects.find((object) => object.kind === 'PodDisruptionBudget')!;
    expect(templateOf(componentDeployments[0]!).metadata.labels).toMatchObject(
      (budget.spec!.selector as { matchLabels: Record<string, string> }).matchLabels,
    );

    const [patch] = component.patches;
    expect(patch!.target).toEqual({ kind: 'ConfigMap', name: 'clearcut-config' });
    const operations = parseAllDocuments(patch!.patch)[0]!.toJS() as {
      op: string;
      path: string;
      value: string;
    }[];
    expect(operations).toEqual([{ op: 'add', path: '/data/CLEARCUT_GATEWAY_EVENTS', value: 'false' }]);
    const [gateway] = templateOf(find('Deployment', 'clearcut-gateway')).spec.containers as [Container];
    expect(configOf(containerEnv(gateway)).gateway.events).toBe(true);
    expect(configOf({ ...containerEnv(gateway), CLEARCUT_GATEWAY_EVENTS: 'false' }).gateway.events).toBe(
      false,
    );
  });

  it.runIf(existsSync('/usr/bin/kubectl'))(
    'builds with the events component through kubectl kustomize',
    async () => {
      const overlay = await mkdtemp(join(tmpdir(), 'clearcut-k8s-'));
      try {
        const root = fileURLToPath(new URL(`../../${directory}`, import.meta.url));
        const base = relative(overlay, root);
        await writeFile(
          join(overlay, 'kustomization.yaml'),
          `resources: [${base}]\ncomponents: [${join(base, 'events')}]\n`,
        );
        const built = parseAllDocuments(
          execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' }),
        ).map((document) => document.toJS() as K8sObject);
        expect(built.length).toBe(objects.length + componentObjects.length);
        const names = built
          .filter((object) => object.kind === 'Deployment')
          .map((object) => object.metadata.name);
        expect(names.sort()).toEqual(['clearcut-events', 'clearcut-gateway', 'clearcut-worker']);
        const config = built.find((object) => object.kind === 'ConfigMap')!;
        expect(config.data!.CLEARCUT_GATEWAY_EVENTS).toBe('false');
      } finally {
        await rm(overlay, { recursive: true, force: true });
      }
    },
  );

  it.runIf(existsSync('/usr/bin/kubectl'))('builds with kubectl kustomize', () => {
    const output = execFileSync('kubectl', ['kustomize', directory], {
      cwd: new URL('../../', import.meta.url),
      encoding: 'utf8',
    });
    const built = parseAllDocuments(output).map((document) => document.toJS() as K8sObject);
    expect(built.length).toBe(objects.length);
    for (const object of built.filter((candidate) => candidate.kind !== 'Namespace')) {
      expect((object.metadata as { namespace?: string }).namespace).toBe('clearcut');
    }
  });
});
