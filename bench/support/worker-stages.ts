// The worker's own profile of where a task's time goes: clearcut_worker_stage_seconds from its
// /metrics, as mean milliseconds per task and stage (wall time; stages of different tasks overlap).
export type StageProfile = Record<string, { tasks: number; meanMs: number }>;

export async function workerStages(httpPort: number): Promise<StageProfile> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match =
      /^clearcut_worker_stage_seconds_(sum|count)\{[^}]*stage="([a-z]+)"[^}]*\} ([0-9.e+-]+)$/.exec(line);
    if (match) (match[1] === 'sum' ? sums : counts).set(match[2]!, Number(match[3]));
  }
  const profile: StageProfile = {};
  for (const [stage, count] of counts)
    profile[stage] = { tasks: count, meanMs: count > 0 ? ((sums.get(stage) ?? 0) / count) * 1000 : 0 };
  return profile;
}

/** The stages summed over several workers' profiles (weighted by their task counts). */
export function mergeStages(profiles: readonly StageProfile[]): StageProfile {
  const merged: StageProfile = {};
  for (const profile of profiles) {
    for (const [stage, { tasks, meanMs }] of Object.entries(profile)) {
      const seen = merged[stage] ?? { tasks: 0, meanMs: 0 };
      const total = seen.tasks + tasks;
      merged[stage] = {
        tasks: total,
        meanMs: total > 0 ? (seen.meanMs * seen.tasks + meanMs * tasks) / total : 0,
      };
    }
  }
  return merged;
}
