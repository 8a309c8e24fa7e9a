import { describe, expect, it } from 'vitest';
import {
  canvasLayout,
  expandBox,
  fitInside,
  marginPixels,
  squareLayout,
  subjectAlphaThreshold,
  subjectBox,
} from '../../src/inference/geometry.js';

describe('subjectBox', () => {
  it('is the tightest box around pixels at or above the threshold', () => {
    const width = 10;
    const alpha = new Uint8Array(10 * 8);
    alpha[2 * width + 3] = 255;
    alpha[6 * width + 7] = subjectAlphaThreshold;
    alpha[7 * width + 9] = subjectAlphaThreshold - 1; // faint noise: not subject
    expect(subjectBox(alpha, width, 8)).toEqual({ left: 3, top: 2, width: 5, height: 5 });
  });

  it('is undefined for an empty mask', () => {
    expect(subjectBox(new Uint8Array(20).fill(subjectAlphaThreshold - 1), 5, 4)).toBeUndefined();
  });
});

describe('margins and boxes', () => {
  const box = { left: 20, top: 10, width: 40, height: 25 };

  it('takes pixels as given and percentages of the longer side', () => {
    expect(marginPixels(7, box)).toBe(7);
    expect(marginPixels('10%', box)).toBe(4);
    expect(marginPixels('12.5%', box)).toBe(5);
  });

  it('grows a box on every side and clamps it to the image', () => {
    expect(expandBox(box, 5, { width: 100, height: 100 })).toEqual({
      left: 15,
      top: 5,
      width: 50,
      height: 35,
    });
    expect(expandBox(box, 15, { width: 70, height: 40 })).toEqual({ left: 5, top: 0, width: 65, height: 40 });
  });

  it('fits inside a maximum size, keeping the aspect ratio, never enlarging', () => {
    expect(fitInside({ width: 3000, height: 2000 }, 1500)).toEqual({ width: 1500, height: 1000 });
    expect(fitInside({ width: 300, height: 200 }, 1500)).toEqual({ width: 300, height: 200 });
    expect(fitInside({ width: 300, height: 200 }, undefined)).toEqual({ width: 300, height: 200 });
  });
});

describe('squareLayout (marketplace main image)', () => {
  it('keeps the subject at its own size when that already makes a large enough canvas', () => {
    const layout = squareLayout({ width: 1700, height: 1000 }, 0.85, 1600);
    expect(layout.side).toBe(2000);
    expect(layout.subject).toEqual({ left: 150, top: 500, width: 1700, height: 1000 });
  });

  it('enlarges a small subject so the canvas reaches minSide with the asked share', () => {
    const layout = squareLayout({ width: 60, height: 40 }, 0.85, 1600);
    expect(layout.side).toBe(1600);
    expect(layout.subject.width).toBe(1360); // 85 % of 1600
    expect(layout.subject.height).toBe(907);
    expect(layout.subject.left).toBe(120);
    expect(layout.subject.top).toBe(346);
  });

  it('lets maxSize cap the canvas below minSide', () => {
    const layout = squareLayout({ width: 40, height: 60 }, 0.5, 1600, 500);
    expect(layout.side).toBe(500);
    expect(layout.subject).toEqual({ left: 166, top: 125, width: 167, height: 250 });
  });
});

describe('canvasLayout', () => {
  const subject = { width: 40, height: 20 };
  const portrait = { aspect: 0.5, minSide: 100, fill: 0.8, position: 'center' } as const;

  it('an aspect canvas grows its shorter side to minSide and enlarges the subject to fill it', () => {
    // natural height ceil(max(20, 40 / 0.5) / 0.8) = 100; the shorter side (width) must reach 100,
    // so height 200; scale min(0.8·100/40, 0.8·200/20) = 2.
    expect(canvasLayout(subject, portrait)).toEqual({
      width: 100,
      height: 200,
      subject: { left: 10, top: 80, width: 80, height: 40 },
    });
  });

  it('maxSize bounds the longer side', () => {
    // height 150, width 75; scale min(0.8·75/40, 0.8·150/20) = 1.5.
    expect(canvasLayout(subject, portrait, 150)).toEqual({
      width: 75,
      height: 150,
      subject: { left: 7, top: 60, width: 60, height: 30 },
    });
  });

  it('bottom: centred across, on the lower margin a centred box filling `fill` of the height would leave', () => {
    // margin floor((200 − round(0.8·200)) / 2) = 20: top = 200 − 40 − 20.
    expect(canvasLayout(subject, { ...portrait, position: 'bottom' }).subject).toEqual({
      left: 10,
      top: 140,
      width: 80,
      height: 40,
    });
  });

  it('a fixed canvas scales the subject to fill it along the tighter direction', () => {
    const fixed = { width: 300, height: 100, fill: 0.5, position: 'center' } as const;
    // scale min(0.5·300/40, 0.5·100/20) = 2.5
    expect(canvasLayout(subject, fixed)).toEqual({
      width: 300,
      height: 100,
      subject: { left: 100, top: 25, width: 100, height: 50 },
    });
    // maxSize 150 scales the canvas to 150×50 first: scale min(0.5·150/40, 0.5·50/20) = 1.25
    expect(canvasLayout(subject, fixed, 150)).toEqual({
      width: 150,
      height: 50,
      subject: { left: 50, top: 12, width: 50, height: 25 },
    });
  });
});
