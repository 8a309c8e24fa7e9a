// Worker settings bench:pipeline compares side by side (`--variant NAME`, repeatable): named
// presets, or `NAME=VAR=value,VAR=value` for ad-hoc environment. Runs alternate between variants
// round by round, so a busy neighbour slows every variant alike. CHECKOUT=DIR runs the variant's
// workers from another checkout (e.g. `git archive REV | tar -x -C DIR` with node_modules linked),
// to compare code side by side, not only settings.
export interface PipelineVariant {
  readonly name: string;
  /** Worker environment on top of the bench's own. */
  readonly env: Readonly<Record<string, string>>;
  /** The checkout whose workers/inference.ts runs; this one when absent. */
  readonly checkout?: string;
}

/**
 * The worker as configured by default, and as it ran before issue 15: every setting at its old
 * value, and u2netp loaded beside u2net (the bench's old worker served both).
 */
export const pipelinePresets: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  defaults: {},
  before: {
    CLEARCUT_MODELS: 'u2net,u2netp',
    CLEARCUT_ORT_MEMORY_ARENA: 'on',
    CLEARCUT_ORT_MEMORY_PATTERN: 'true',
    CLEARCUT_ORT_SPINNING: 'true',
    CLEARCUT_PNG_EFFORT: 'balanced',
    // glibc's own default on 64 bits: 8 arenas per core (the image now sets 2).
    MALLOC_ARENA_MAX: '16',
  },
};

const usage = (text: string) =>
  `--variant ${text}: expected a preset (${Object.keys(pipelinePresets).join(', ')}) or NAME=VAR=value,VAR=value (VAR: CLEARCUT_*, MALLOC_*, NODE_OPTIONS, CHECKOUT)`;

export function parseVariant(text: string): PipelineVariant {
  const preset = pipelinePresets[text];
  if (preset) return { name: text, env: preset };
  const [name, ...settings] = text.split('=');
  const assignments = settings.join('=').split(',').filter(Boolean);
  const env: Record<string, string> = {};
  let checkout: string | undefined;
  for (const assignment of assignments) {
    const [variable, ...value] = assignment.split('=');
    if (variable === 'CHECKOUT' && value.length > 0) {
      checkout = value.join('=');
      continue;
    }
    const allowed =
      variable?.startsWith('CLEARCUT_') || variable?.startsWith('MALLOC_') || variable === 'NODE_OPTIONS';
    if (!variable || !allowed || value.length === 0) throw new Error(usage(text));
    env[variable] = value.join('=');
  }
  if (!name || assignments.length === 0) throw new Error(usage(text));
  return { name, env, ...(checkout === undefined ? {} : { checkout }) };
}
