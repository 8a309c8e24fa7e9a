// A progress line for long CLI runs. On a terminal it redraws one line in place; in logs and pipes it
// prints a line now and then (each tenth of the way, or every few seconds when the total is unknown).
import type { CliIo } from './io.js';

export interface ProgressOptions {
  readonly label: string;
  /** Undefined when unknown: no bar, just the count. */
  readonly total?: number;
  /** How counts are shown; `formatBytes` for downloads, plain numbers otherwise. */
  readonly format?: (count: number) => string;
  /** Clock in milliseconds; tests pass their own. */
  readonly now?: () => number;
}

export interface Progress {
  update(done: number): void;
  /** Prints the final line (with `note`, e.g. "verified"). */
  finish(note?: string): void;
}

const redrawIntervalMs = 100;
const logIntervalMs = 5_000;
const barWidth = 24;
// Cursor up one line and clear it: io.err always ends a line, so a redraw replaces the previous one.
const replacePreviousLine = '\x1b[1A\x1b[2K';

export function createProgress(io: CliIo, options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const format = options.format ?? String;
  const started = now();
  let drawn = false;
  let lastDrawAt = Number.NEGATIVE_INFINITY;
  let lastTenth = 0;
  let done = 0;

  const line = (note?: string) => {
    const { total, label } = options;
    const elapsedS = Math.max((now() - started) / 1000, 1e-3);
    // Rates are fractional even when counts are whole: plain counts get one decimal.
    const perSecond = done / elapsedS;
    const rate = `${options.format ? format(perSecond) : perSecond.toFixed(1)}/s`;
    if (total === undefined || total <= 0)
      return [label, format(done), rate, note].filter(Boolean).join('  ');
    const share = Math.min(done / total, 1);
    const filled = Math.round(share * barWidth);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
    const percent = `${Math.floor(share * 100)}%`.padStart(4);
    return [label, percent, bar, `${format(done)}/${format(total)}`, rate, note].filter(Boolean).join('  ');
  };

  const draw = (text: string) => {
    io.err(io.interactive && drawn ? `${replacePreviousLine}${text}` : text);
    drawn = true;
    lastDrawAt = now();
  };

  return {
    update(count) {
      done = count;
      if (io.interactive) {
        if (now() - lastDrawAt >= redrawIntervalMs) draw(line());
        return;
      }
      const total = options.total;
      if (total !== undefined && total > 0) {
        const tenth = Math.floor(Math.min(done / total, 1) * 10);
        if (tenth > lastTenth && tenth < 10) {
          lastTenth = tenth;
          draw(line());
        }
      } else if (now() - lastDrawAt >= logIntervalMs) {
        draw(line());
      }
    },
    finish(note) {
      draw(line(note));
    },
  };
}

const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${byteUnits[unit]}`;
}
