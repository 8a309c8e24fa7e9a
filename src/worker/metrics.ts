import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type TaskResult = 'succeeded' | 'failed' | 'retried' | 'dead_lettered' | 'duplicate';

export interface WorkerMetrics {
  readonly tasks: Counter<'result'>;
  readonly inferenceSeconds: Histogram;
  readonly stageSeconds: Histogram<'stage'>;
  readonly endToEndSeconds: Histogram;
  readonly inFlight: Gauge;
  readonly modelLoadSeconds: Gauge<'model'>;
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  return {
    tasks: new Counter({
      name: 'clearcut_worker_tasks_total',
      help: 'Task deliveries handled, by result: succeeded, failed (permanent error), retried (sent to a retry queue), dead_lettered, duplicate (task already ended: acked without work).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    inferenceSeconds: new Histogram({
      name: 'clearcut_worker_inference_seconds',
      help: 'Model time per image, from hand-over to the ONNX Runtime thread until the mask is back.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
      registers: [registry],
    }),
    stageSeconds: new Histogram({
      name: 'clearcut_worker_stage_seconds',
      help: 'Wall time per succeeded task in each stage: gate (waiting to be the next image), download, decode, preprocess, queue (waiting for the model thread and the hand-over), ort (inside ONNX Runtime), postprocess (mask upscale), render (compose and encode every rendition), upload, record (task row and outbox).',
      labelNames: ['stage'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
      registers: [registry],
    }),
    endToEndSeconds: new Histogram({
      name: 'clearcut_worker_end_to_end_seconds',
      help: 'From job admission (task createdAt) until the task result is recorded.',
      buckets: [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'clearcut_worker_tasks_in_flight',
      help: 'Tasks received and not yet acked.',
      registers: [registry],
    }),
    modelLoadSeconds: new Gauge({
      name: 'clearcut_worker_model_load_seconds',
      help: 'Time to resolve and load each model into its ONNX Runtime session.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
  };
}
