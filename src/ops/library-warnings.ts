// Our processes and the CLI speak for themselves: a library's own warnings would land on stderr
// before our output (and between a service's JSON log lines). Each library's documented switch.

/**
 * Turns off the AWS SDK's NodeVersionSupportWarning ("versions published after January 2027 will
 * require node >= 22"): the supported Node versions are ours to state (package.json engines).
 * Call before the first S3 client is made; an operator who sets the variable keeps their choice.
 */
export function silenceLibraryWarnings(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
