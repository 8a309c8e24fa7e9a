import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { sumMetrics } from '../../src/dashboard/process-probes.js';

// The dashboard's settings and the metrics reader, without a browser or services.

describe('dashboard settings', () => {
  it('reads the process list, named or named by host', () => {
    const config = loadConfig({
      CLEARCUT_DASHBOARD_PROCESSES: 'gateway=http://gw:9090/, http://worker-1:9091 ,',
      CLEARCUT_API_PUBLIC_URL: 'https://clearcut.example.com/',
    });
    expect(config.dashboard).toMatchObject({
      processes: [
        { name: 'gateway', url: 'http://gw:9090' },
        { name: 'worker-1:9091', url: 'http://worker-1:9091' },
      ],
      publicUrl: 'https://clearcut.example.com',
      linkTtlMs: 900_000,
      sessionTtlMs: 3_600_000,
    });
    expect(loadConfig({}).dashboard.processes).toEqual([]);
  });

  it('names the variable and what is expected for a bad value', () => {
    for (const [name, value] of [
      ['CLEARCUT_DASHBOARD_PROCESSES', 'worker=ftp://x'],
      ['CLEARCUT_DASHBOARD_PROCESSES', 'bad name=http://x:1'],
      ['CLEARCUT_DASHBOARD_SESSION_TTL', '30s'],
      ['CLEARCUT_API_PUBLIC_URL', 'clearcut.example.com'],
    ]) {
      expect(() => loadConfig({ [name!]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name!]: value })).toThrow(new RegExp(`${name}=.* is invalid: expected`));
    }
  });

  it('sums each clearcut_* sample over its labels, histograms by their count', () => {
    const text = [
      '# HELP clearcut_worker_tasks_total Tasks.',
      'clearcut_worker_tasks_total{outcome="succeeded"} 5',
      'clearcut_worker_tasks_total{outcome="failed"} 2',
      'clearcut_worker_inference_seconds_bucket{le="1"} 3',
      'clearcut_worker_inference_seconds_sum 1.5',
      'clearcut_worker_inference_seconds_count 3',
      'process_cpu_seconds_total 9',
      'clearcut_worker_tasks_in_flight NaN',
    ].join('\n');
    expect(sumMetrics(text)).toEqual({
      clearcut_worker_tasks_total: 7,
      clearcut_worker_inference_seconds_count: 3,
    });
  });
});
