// `npm run bench [-- --only pipeline,peer]`: the short form of every benchmark, one after another,
// each in its own process so one run's memory and threads never colour the next, then
// docs/benchmarks.md with the machine, core count, load, date, commit and each benchmark's tables
// (its standard output), so the numbers a user reads are the numbers the code produces. Each
// benchmark still writes its own JSON to bench/results/. A benchmark whose npm script does not
// exist (yet) is left out and said so; one that fails is listed as failed and the rest still run.
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './support/results.js';

/** Each benchmark's short form: minutes, not hours, on a 2-core machine. */
const shortForms: readonly { readonly name: string; readonly args: readonly string[] }[] = [
  { name: 'inference', args: ['--models', 'u2net', '--count', '2'] },
  { name: 'gateway', args: ['--messages', '5000', '--gateways', '1'] },
  { name: 'api', args: ['--jobs', '500', '--clients', '4', '--remove-samples', '3'] },
  { name: 'manifest', args: ['--lines', '10000'] },
  { name: 'gateway-floor', args: ['--messages', '3000', '--rounds', '1', '--algorithms', 'hmac-sha256'] },
  {
    name: 'pipeline',
    args: ['--workers', '1', '--count', '8', '--variant', 'before', '--variant', 'defaults'],
  },
  {
    name: 'quality',
    // The closed-form baseline at its full defaults takes minutes an image: solved smaller here.
    args: [
      '--limit',
      '4',
      '--soft-size',
      '1024',
      '--baseline-side',
      '512',
      '--baseline-iterations',
      '300',
      '--cost-repeats',
      '1',
    ],
  },
  {
    name: 'peer',
    args: ['--variants', 'medium', '--generated', '0', '--normalisation', 'registry', '--limit', '6'],
  },
  { name: 'int8', args: ['--models', 'u2netp', '--threads', '2', '--no-fidelity'] },
  { name: 'library', args: ['--runs', '3', '--rounds', '1', '--images', '2'] },
];

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only?.split(',');
const root = fileURLToPath(new URL('../', import.meta.url));
const scripts = (
  JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }
).scripts;

const sections: string[] = [];
const skipped: string[] = [];
let failed = 0;
for (const { name, args } of shortForms) {
  if (only && !only.includes(name)) continue;
  if (!scripts[`bench:${name}`]) {
    skipped.push(name);
    continue;
  }
  const command = `npm run -s bench:${name} -- ${args.join(' ')}`;
  process.stdout.write(`\n=== ${command} ===\n`);
  const started = Date.now();
  const load = loadavg()[0]!;
  const { code, output } = await run(['run', '-s', `bench:${name}`, '--', ...args]);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  if (code !== 0) failed++;
  sections.push(
    [
      `## bench:${name}`,
      '',
      `\`${command}\`: ${code === 0 ? '' : `**failed (exit ${code})**, `}${minutes} min, 1-minute load ${load.toFixed(1)} at its start.`,
      '',
      output.trim(),
      '',
    ].join('\n'),
  );
}

const machine = machineInfo();
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
  cwd: root,
  encoding: 'utf8',
}).stdout.trim();
const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'bench', 'models', 'workers'], {
  cwd: root,
  encoding: 'utf8',
}).stdout.trim();
const header = [
  '# Benchmarks',
  '',
  'Written by `npm run bench` (bench/run.ts): the short form of every benchmark, its tables as it',
  'printed them. Do not edit by hand; run it again. Each benchmark explains its columns in its own',
  'file header (bench/*.ts) and its longer form in the docs it belongs to.',
  '',
  `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  `- Commit: ${commit}${dirty ? ' (with uncommitted changes)' : ''}`,
  `- Machine: ${machine.availableParallelism} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB`,
  `- Software: Node ${machine.node}, onnxruntime-node ${machine.onnxruntime}, sharp ${machine.sharp} (libvips ${machine.libvips})`,
  `- 1-minute load at the start: ${machine.loadAverage1m} (a shared machine makes absolute times noisy; ratios measured side by side hold better)`,
  ...(skipped.length > 0
    ? [`- Not run (no npm script yet): ${skipped.map((name) => `bench:${name}`).join(', ')}`]
    : []),
  '',
];
if (!only) await writeFile(`${root}docs/benchmarks.md`, [...header, ...sections].join('\n'));
else process.stdout.write(`\n--only given: docs/benchmarks.md left as it is.\n`);
process.exitCode = failed === 0 ? 0 : 1;

/** Runs npm with `args`, echoing its output as it comes and keeping the standard output. */
function run(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
    });
    child.once('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}
