// `npm run bench`: the product's own benchmarks one after another, each in its own process so one
// run's memory and threads never colour the next. Each writes its JSON (with the core count) to
// bench/results/ and prints its table. The peer and int8 benchmarks are separate (they need extra
// installs or model files): `npm run bench:peer`, `npm run bench:int8`.
import { spawnSync } from 'node:child_process';

const benches = ['inference', 'gateway', 'pipeline'];
let failed = 0;
for (const name of benches) {
  process.stdout.write(`\n=== bench:${name} ===\n`);
  const run = spawnSync('npm', ['run', '-s', `bench:${name}`], { stdio: 'inherit' });
  if (run.status !== 0) {
    failed += 1;
    process.stderr.write(`bench:${name} failed (exit ${run.status ?? run.signal})\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
