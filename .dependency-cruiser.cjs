// The architecture rules `npm run lint:arch` enforces (explained in docs/architecture.md).
// Paths are relative to the repository root; `$1` in a `to` path refers to the `from` path's group.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-module-cycles',
      comment: 'A module must not reach itself through its imports: untangle by moving the shared part down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment:
        'Folders import one way: if a/ imports b/, nothing in b/ may lead back to a/. Move what both need into the lower folder.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^(src|workers|models)/' },
      to: { circular: true },
    },
    {
      name: 'contracts-at-the-bottom',
      comment:
        'src/contracts (message and storage shapes) is the base everything builds on: it imports only itself, src/errors.ts and libraries.',
      severity: 'error',
      from: { path: '^src/contracts/' },
      to: { path: '^(src|workers|models|test|bench|infra)/', pathNot: '^(src/contracts/|src/errors\\.ts$)' },
    },
    {
      name: 'inference-knows-no-transport',
      comment:
        'src/inference turns images into cut-outs; fetching tasks, storing rows and moving files belong to the worker that drives it.',
      severity: 'error',
      from: { path: '^src/inference/' },
      to: { path: '^src/(queue|db|storage|gateway|events|worker|jobs)/' },
    },
    {
      name: 'front-doors-apart',
      comment:
        'Front doors (AMQP gateway, S3 events, HTTP API) each adapt their input to the shared admission core; they never import each other.',
      severity: 'error',
      from: { path: '^src/(gateway|events|api)/' },
      to: { path: '^src/(gateway|events|api)/', pathNot: '^src/$1/' },
    },
    {
      name: 'product-without-test-machinery',
      comment: 'Shipped code (src, workers, models) never imports tests, benchmarks or infra/dev tooling.',
      severity: 'error',
      from: { path: '^(src|workers|models)/' },
      to: { path: '^(test|bench|infra)/' },
    },
    {
      name: 'product-without-dev-dependencies',
      comment:
        'devDependencies are not installed in production (npm ci --omit=dev): src and workers may import only dependencies.',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'imports-resolve',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|bench/peer)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
