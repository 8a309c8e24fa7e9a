import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { createProgress, formatBytes } from '../../src/cli/progress.js';

function fakeIo(interactive: boolean) {
  const lines: string[] = [];
  const io: CliIo = { env: {}, out: () => undefined, err: (text) => lines.push(text), interactive };
  return { io, lines };
}

function fakeClock() {
  let time = 0;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

describe('createProgress', () => {
  it('in a log, prints a line at each tenth of the way and a final one', () => {
    const { io, lines } = fakeIo(false);
    const clock = fakeClock();
    const progress = createProgress(io, { label: 'u2net.onnx', total: 1000, format: String, now: clock.now });
    for (let done = 50; done <= 1000; done += 50) {
      clock.advance(100);
      progress.update(done);
    }
    progress.finish('verified');
    expect(lines).toHaveLength(10); // 10%, 20% … 90%, then the final line
    expect(lines[0]).toBe(`u2net.onnx   10%  [##${'-'.repeat(22)}]  100/1000  500/s`);
    expect(lines.at(-1)).toBe(`u2net.onnx  100%  [${'#'.repeat(24)}]  1000/1000  500/s  verified`);
    expect(lines.join('')).not.toContain('\x1b');
  });

  it('on a terminal, redraws one line in place at most every 100 ms', () => {
    const { io, lines } = fakeIo(true);
    const clock = fakeClock();
    const progress = createProgress(io, { label: 'files', total: 4, now: clock.now });
    progress.update(1);
    progress.update(2); // same instant: not redrawn
    clock.advance(100);
    progress.update(3);
    progress.finish();
    expect(lines).toHaveLength(3);
    expect(lines[0]!.startsWith('files')).toBe(true);
    expect(lines[1]!.startsWith('\x1b[1A\x1b[2Kfiles   75%')).toBe(true);
    expect(lines[2]!.startsWith('\x1b[1A\x1b[2Kfiles   75%')).toBe(true);
  });

  it('without a total, prints the count every few seconds in a log', () => {
    const { io, lines } = fakeIo(false);
    const clock = fakeClock();
    const progress = createProgress(io, { label: 'download', format: formatBytes, now: clock.now });
    clock.advance(1000);
    progress.update(2048);
    clock.advance(1000);
    progress.update(4096);
    clock.advance(5000);
    progress.update(8192);
    expect(lines).toEqual(['download  2.0 KiB  2.0 KiB/s', 'download  8.0 KiB  1.1 KiB/s']);
  });
});

describe('formatBytes', () => {
  it('uses binary units with one decimal', () => {
    expect([0, 1023, 1536, 4_557_703, 175_980_481, 2 ** 40].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.5 KiB',
      '4.3 MiB',
      '167.8 MiB',
      '1.0 TiB',
    ]);
  });
});
