// The operator page asks each configured process (CLEARCUT_DASHBOARD_PROCESSES) for its own
// /readyz and /metrics, with a short timeout, and shows what they say.

export interface ProcessProbe {
  readonly name: string;
  /** Base URL of the process's ops port, such as http://worker-1:9091. */
  readonly url: string;
}

export interface ProcessReport {
  readonly name: string;
  readonly url: string;
  /** null when the process did not answer /readyz at all. */
  readonly ready: boolean | null;
  /** Each readiness check by name (true = usable). */
  readonly checks: Readonly<Record<string, boolean>>;
  /** ClearCut's own gauges and counters, summed over labels, by metric name. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly error: string | null;
}

const timeoutMs = 2000;
const shownMetric = /^clearcut_[a-z_]+$/;

export async function probeProcess(probe: ProcessProbe): Promise<ProcessReport> {
  const base = { name: probe.name, url: probe.url };
  try {
    const ready = await fetch(`${probe.url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await ready.json().catch(() => ({}))) as { checks?: Record<string, unknown> };
    const checks = Object.fromEntries(
      Object.entries(body.checks ?? {}).map(([name, ok]) => [name.slice(0, 64), ok === true]),
    );
    const metrics = await fetch(`${probe.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })
      .then((response) => (response.ok ? response.text() : ''))
      .catch(() => '');
    return { ...base, ready: ready.status === 200, checks, metrics: sumMetrics(metrics), error: null };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, ready: null, checks: {}, metrics: {}, error: message.slice(0, 200) };
  }
}

/** Prometheus text format → the sum of each clearcut_* sample over its labels (histograms: _count). */
export function sumMetrics(text: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name = '', raw = ''] = match;
    const value = Number(raw);
    if (!shownMetric.test(name) || name.endsWith('_bucket') || name.endsWith('_sum')) continue;
    if (!Number.isFinite(value)) continue;
    sums[name] = (sums[name] ?? 0) + value;
  }
  return sums;
}
