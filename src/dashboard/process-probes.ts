import { errorMessage } from '../errors.js';

// The operator page asks each configured process (CLEARCUT_DASHBOARD_PROCESSES) for its own
// /readyz and /metrics, with a short timeout and a size cap, and shows what they say.

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
/** Far above a real /metrics page; a process (or whatever answers at its address) can send no more. */
const maxBodyBytes = 1024 * 1024;
const shownMetric = /^clearcut_[a-z_]+$/;

export async function probeProcess(probe: ProcessProbe): Promise<ProcessReport> {
  const base = { name: probe.name, url: probe.url };
  try {
    const ready = await fetchCapped(`${probe.url}/readyz`);
    const body = parseJson(ready.text) as { checks?: Record<string, unknown> } | undefined;
    const checks = Object.fromEntries(
      Object.entries(body?.checks ?? {}).map(([name, ok]) => [name.slice(0, 64), ok === true]),
    );
    const metrics = await fetchCapped(`${probe.url}/metrics`).then(
      (response) => ({ text: response.status === 200 ? response.text : '', error: null }),
      (error: unknown) => ({ text: '', error: `metrics: ${messageOf(error)}` }),
    );
    return {
      ...base,
      ready: ready.status === 200,
      checks,
      metrics: sumMetrics(metrics.text),
      error: metrics.error,
    };
  } catch (error) {
    return { ...base, ready: null, checks: {}, metrics: {}, error: messageOf(error) };
  }
}

/** The status and body of a GET, refused past maxBodyBytes; the timeout covers the whole body. */
async function fetchCapped(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream, which closes the connection.
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > maxBodyBytes) throw new Error(`${url} answered more than ${maxBodyBytes} bytes`);
    chunks.push(chunk);
  }
  return { status: response.status, text: Buffer.concat(chunks).toString('utf8') };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const messageOf = (error: unknown) => errorMessage(error).slice(0, 200);

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
