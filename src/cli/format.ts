import type { CliIo } from './io.js';

// Plain-text output shared by the commands: tables, times, JSON.

export function formatTime(time: Date | null, none = '-'): string {
  return time === null ? none : time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Left-aligned columns under a header; nothing but the header when there are no rows. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}
