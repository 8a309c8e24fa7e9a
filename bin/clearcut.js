#!/usr/bin/env node
// What runs is chosen by what is on disk, so neither side can run the other's stale code:
// - in a clone the TypeScript sources are here: run them through tsx (a devDependency), so tests and
//   `npx clearcut` always run the current sources, never a dist/ left over from an earlier build;
// - the installed package ships dist/ but not src/ (package.json "files"): run the compiled
//   JavaScript, which starts in a fraction of the time and needs no tsx.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import('../dist/src/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
