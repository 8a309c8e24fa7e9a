// The package as a user gets it: packed, installed offline into an empty project, then used there
// through its bin, its exports and its types. Packing builds dist/ once for the whole file.
import { readdirSync, readFileSync } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobContractVersion } from '../../src/contracts/job.js';
import { resultEventContractVersion } from '../../src/contracts/result-event.js';
import { taskContractVersion } from '../../src/contracts/task.js';
import { encodeHmacSecret } from '../../src/signing/keys.js';
import { createPipelineHarness } from '../e2e/pipeline-harness.js';
import { noisyJpeg } from '../support/images.js';
import { installPackedClearcut, repoDir, type TryoutProject } from './tryout-project.js';

const manifest = JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, string | { types?: string; default: string }>;
};
const subpaths = Object.keys(manifest.exports).filter((subpath) => subpath !== './package.json');
const specifier = (subpath: string) => `clearcut${subpath.slice(1)}`;

let project: TryoutProject;

beforeAll(async () => {
  project = await installPackedClearcut();
}, 600_000);

afterAll(async () => {
  if (!process.env.CLEARCUT_TEST_KEEP) await project?.remove();
});

describe('the packed tarball', () => {
  it('holds the compiled code, the migrations and the types of every export, and no sources or dev machinery', () => {
    const files = new Set(project.files);
    expect(files).toContain('bin/clearcut.js');
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('dist/workers/inference.js');
    for (const migration of readdirSync(join(repoDir, 'src/db/migrations')))
      expect(files).toContain(`dist/src/db/migrations/${migration}`);
    // The dashboard reads its templates and static files from beside its compiled code.
    for (const folder of ['views', 'static'])
      for (const file of readdirSync(join(repoDir, 'src/dashboard', folder)))
        expect(files).toContain(`dist/src/dashboard/${folder}/${file}`);
    for (const subpath of subpaths) {
      const target = manifest.exports[subpath]!;
      expect(typeof target, `${subpath} names its types`).toBe('object');
      const { types, default: code } = target as { types?: string; default: string };
      expect(files).toContain(types?.replace(/^\.\//, ''));
      expect(files).toContain(code.replace(/^\.\//, ''));
    }
    const unwanted = project.files.filter(
      (path) =>
        /^(src|test|bench|infra|models|workers|\.cache|\.ci)\//.test(path) ||
        path.endsWith('.map') ||
        path.includes('embedded-s3') ||
        path.includes('demo'),
    );
    expect(unwanted).toEqual([]);
  });
});

describe('the installed package', () => {
  it('links the clearcut bin, which prints the package and wire-contract versions', async () => {
    await access(join(project.dir, 'node_modules/.bin/clearcut'));
    const { status, stdout } = await project.clearcut(['--version']);
    expect(status).toBe(0);
    expect(stdout.trim()).toBe(
      `clearcut ${manifest.version} (wire contracts: job v${jobContractVersion}, task v${taskContractVersion}, result event v${resultEventContractVersion})`,
    );
  });

  it('runs `clearcut remove` on a generated image with the synthetic model it builds itself', async () => {
    const source = join(project.dir, 'photos/shoe.jpg');
    await mkdir(join(project.dir, 'photos'));
    await writeFile(source, await noisyJpeg(96, 64));
    const { status, stdout, stderr } = await project.clearcut(
      [
        'remove',
        'photos',
        '--out',
        'cutouts',
        '--model',
        'u2netp',
        '--allow-synthetic',
        '--rendition',
        'cutout,mask',
      ],
      { CLEARCUT_MODEL_DIR: join(project.dir, 'models') },
    );
    expect({ status, stderr }).toMatchObject({ status: 0, stderr: expect.stringContaining('SYNTHETIC') });
    expect(stdout).toContain('1 of 1 image done (2 files written');
    const cutout = await sharp(join(project.dir, 'cutouts/shoe.cutout.png')).metadata();
    const mask = await sharp(join(project.dir, 'cutouts/shoe.mask.png')).metadata();
    expect([cutout.width, cutout.height, cutout.channels]).toEqual([96, 64, 4]);
    expect([mask.width, mask.height, mask.channels]).toEqual([96, 64, 1]);
  });

  it('imports every export, and removes a background in process through the library', async () => {
    const source = join(project.dir, 'boot.jpg');
    await writeFile(source, await noisyJpeg(80, 120));
    const imports = subpaths.map(
      (subpath, index) => `import * as export${index} from '${specifier(subpath)}';`,
    );
    await writeFile(
      join(project.dir, 'use-exports.mjs'),
      [
        ...imports,
        `const exported = { ${subpaths.map((subpath, index) => `'${subpath}': Object.keys(export${index}).sort()`).join(', ')} };`,
        "const { removeBackground } = await import('clearcut');",
        'const result = await removeBackground(process.argv[2], {',
        "  model: 'u2netp', modelDir: 'models', allowSynthetic: true,",
        "  renditions: [{ kind: 'cutout', format: 'webp' }, { kind: 'white', square: true, minSide: 200 }],",
        '});',
        'const outputs = result.outputs.map(({ rendition, contentType, width, height }) => ({ kind: rendition.kind, contentType, width, height }));',
        'console.log(JSON.stringify({ exported, outputs }));',
      ].join('\n'),
    );
    const { status, stdout, stderr } = await project.node('use-exports.mjs', [source]);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    const { exported, outputs } = JSON.parse(stdout);
    expect(exported['.']).toEqual(
      expect.arrayContaining([
        'createEngine',
        'removeBackground',
        'versions',
        'PermanentError',
        'modelNames',
      ]),
    );
    expect(exported['./client']).toEqual(expect.arrayContaining(['createProducer', 'describeResultEvent']));
    expect(outputs).toEqual([
      { kind: 'cutout', contentType: 'image/webp', width: 80, height: 120 },
      { kind: 'white', contentType: 'image/jpeg', width: 200, height: 200 },
    ]);
  });

  it('gives TypeScript the types of every export', async () => {
    const usage = [
      "import { createEngine, type RemovalResult, removeBackground, type Versions, versions } from 'clearcut';",
      "import { createProducer, type Producer } from 'clearcut/client';",
      "const result: Promise<RemovalResult> = removeBackground('a.jpg', { model: 'u2netp', renditions: [{ kind: 'crop', margin: '5%' }] });",
      'const engine = createEngine({ threads: 1 }).then((engine) => engine.removeBackgrounds([new Uint8Array(8)], { onProgress: ({ done, total }) => done / total }));',
      "const version: Versions['contracts']['job'] = versions().contracts.job;",
      'const producer: (options: Parameters<typeof createProducer>[0]) => Promise<Producer> = createProducer;',
      '// @ts-expect-error: a rendition kind that does not exist',
      "removeBackground('a.jpg', { renditions: [{ kind: 'sepia' }] });",
      'export { engine, producer, result, version };',
      ...subpaths.map(
        (subpath) => `export * as export${subpaths.indexOf(subpath)} from '${specifier(subpath)}';`,
      ),
    ];
    await writeFile(join(project.dir, 'use-types.ts'), usage.join('\n'));
    await writeFile(
      join(project.dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [join(repoDir, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['use-types.ts'],
      }),
    );
    const { status, stdout } = await project.node(join(repoDir, 'node_modules/typescript/bin/tsc'), [
      '-p',
      'tsconfig.json',
    ]);
    expect(stdout).toBe('');
    expect(status).toBe(0);
  });
});

describe('the producer SDK example of docs/library.md', () => {
  it('submits a job to a real gateway and worker from the installed package and follows it to the end', async () => {
    const pipeline = await createPipelineHarness('package-sdk-example');
    try {
      const catalog = await pipeline.s3.createBucket('catalog');
      const cutouts = await pipeline.s3.createBucket('cutouts');
      await pipeline.s3.store.put(catalog, 'shoes/boot.jpg', await noisyJpeg(64, 48), {
        contentType: 'image/jpeg',
      });
      const key = await pipeline.tenant(catalog, cutouts);
      await pipeline.startWorker();
      // The example as documented, pointed at this test's broker, tenant and buckets.
      const example = exampleOf(readFileSync(join(repoDir, 'docs/library.md'), 'utf8'), '// submit.mjs')
        .replace(
          "amqpUrl: 'amqp://clearcut-producer-acme:dev-producer-password@localhost:5672/clearcut',",
          `amqpUrl: ${JSON.stringify(pipeline.env.CLEARCUT_AMQP_URL)}, prefix: ${JSON.stringify(pipeline.env.CLEARCUT_AMQP_PREFIX)},`,
        )
        .replace("{ tenant: 'acme' }", `{ tenant: ${JSON.stringify(key.tenantId)} }`)
        .replace("bucket: 'catalog'", `bucket: ${JSON.stringify(catalog)}`)
        .replace("bucket: 'cutouts'", `bucket: ${JSON.stringify(cutouts)}`);
      expect(example).toContain(key.tenantId);
      await writeFile(join(project.dir, 'submit.mjs'), example);
      if (key.secret.algorithm !== 'hmac-sha256') throw new Error('the harness made an Ed25519 key');
      const { status, stdout, stderr } = await project.node('submit.mjs', [], {
        CLEARCUT_KEY_ID: key.keyId,
        CLEARCUT_KEY_SECRET: encodeHmacSecret(key.secret),
      });
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^accepted: job /);
      expect(lines.at(-1)).toMatch(/^completed: 1 succeeded, 0 failed of 1/);
      const written = await pipeline.keys(cutouts);
      expect(written.filter((name) => /^acme\/shoes\/.*\.(cutout|white)\./.test(name))).toHaveLength(2);
    } finally {
      await pipeline.dispose();
    }
  }, 300_000);
});

/** The fenced code block of `markdown` whose first line is `firstLine`. */
function exampleOf(markdown: string, firstLine: string): string {
  const block = markdown.split('```').find((part) => part.split('\n')[1]?.startsWith(firstLine));
  if (!block) throw new Error(`no code block starting with ${firstLine}`);
  return block.slice(block.indexOf('\n') + 1);
}
