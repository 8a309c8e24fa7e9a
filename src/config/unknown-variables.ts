// CLEARCUT_* variables that configure nothing: a typo (CLEARCUT_MODLE_DIR) is otherwise ignored
// without a word and its default silently used. Variables of the test suite are not the service's.

/** Prefixes of variables that are ClearCut's but not the service's configuration: the test suite's,
 * and the one docs/protocol.md's Python examples read. */
const otherPrefixes = ['CLEARCUT_TEST_', 'CLEARCUT_API_URL'];

/** One line per CLEARCUT_* name in `env` that is not in `known`, with the nearest known name when one is close. */
export function unknownVariableWarnings(
  env: Readonly<Record<string, string | undefined>>,
  known: readonly string[],
): string[] {
  const names = new Set(known);
  return Object.keys(env)
    .filter((name) => name.startsWith('CLEARCUT_') && !names.has(name))
    .filter((name) => !otherPrefixes.some((prefix) => name.startsWith(prefix)))
    .sort()
    .map((name) => {
      const nearest = nearestName(name, known);
      return `${name} is not a ClearCut variable and is ignored${nearest ? `; did you mean ${nearest}?` : ''}`;
    });
}

/** The known name within a few edits of `name` (typos, a missing or swapped letter), if one is. */
function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
