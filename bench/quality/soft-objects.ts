// Subjects whose alpha is genuinely soft, drawn as SVG on a transparent canvas so the rendering's
// own alpha is the truth: hair and fur strands (sub-pixel strokes, so alpha is the share of a
// pixel a strand covers), a motion-blurred object, semi-transparent glass and a veil, thin
// structures (bicycle spokes, plant stems). Strands come from a seeded generator: the same
// subjects every run.

export interface SoftObject {
  readonly name: string;
  /** An SVG of `size`×`size` px (viewBox 0 0 100 100) with a transparent background. */
  svg(size: number): string;
}

const svg = (size: number, body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 100 100">${body}</svg>`;

/** Park–Miller minimal standard generator: deterministic strands without a dependency. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48_271) % 2_147_483_647;
    return state / 2_147_483_647;
  };
}

const fixed = (value: number) => value.toFixed(2);

/** Curved strands leaving an ellipse's outline between two angles (radians, 0 = right, y down). */
function strands(options: {
  seed: number;
  count: number;
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  from: number;
  to: number;
  length: readonly [number, number];
  width: readonly [number, number];
  colours: readonly string[];
  curl: number;
  droop: number;
}): string {
  const next = random(options.seed);
  const paths: string[] = [];
  for (let strand = 0; strand < options.count; strand++) {
    const angle = options.from + (options.to - options.from) * next();
    const inset = 0.9 + 0.1 * next(); // roots just inside the outline, so the strand is attached
    const x0 = options.cx + Math.cos(angle) * options.rx * inset;
    const y0 = options.cy + Math.sin(angle) * options.ry * inset;
    const length = options.length[0] + (options.length[1] - options.length[0]) * next();
    const bend = (next() - 0.5) * options.curl;
    const direction = angle + bend;
    const x2 = x0 + Math.cos(direction) * length;
    const y2 = y0 + Math.sin(direction) * length + options.droop * length;
    const x1 = x0 + Math.cos(angle) * length * 0.5;
    const y1 = y0 + Math.sin(angle) * length * 0.5;
    const width = options.width[0] + (options.width[1] - options.width[0]) * next();
    const colour = options.colours[Math.floor(next() * options.colours.length)];
    paths.push(
      `<path d="M${fixed(x0)} ${fixed(y0)} Q${fixed(x1)} ${fixed(y1)} ${fixed(x2)} ${fixed(y2)}" stroke="${colour}" stroke-width="${width.toFixed(3)}" stroke-opacity="${(0.55 + 0.45 * next()).toFixed(2)}" fill="none" stroke-linecap="round"/>`,
    );
  }
  return paths.join('');
}

export const softObjects: readonly SoftObject[] = [
  {
    // Shoulders, a head, and long flyaway hair over its upper half.
    name: 'hair',
    svg: (size) =>
      svg(
        size,
        `<path d="M18 100 q2 -18 32 -20 q30 2 32 20 z" fill="#2d4a7a"/>
         <ellipse cx="50" cy="52" rx="16" ry="20" fill="#c58c6a"/>
         <ellipse cx="50" cy="44" rx="18" ry="17" fill="#4a2c18"/>
         ${strands({ seed: 11, count: 700, cx: 50, cy: 46, rx: 17, ry: 17, from: Math.PI * 0.95, to: Math.PI * 2.05, length: [6, 20], width: [0.03, 0.1], colours: ['#4a2c18', '#6b4226', '#8a5a32', '#3a2212'], curl: 0.9, droop: 0.35 })}`,
      ),
  },
  {
    // A round furry animal body: hundreds of short strands all around.
    name: 'fur',
    svg: (size) =>
      svg(
        size,
        `<ellipse cx="50" cy="55" rx="26" ry="20" fill="#d98a3a"/>
         <ellipse cx="50" cy="60" rx="14" ry="10" fill="#f2e2c8"/>
         ${strands({ seed: 23, count: 1800, cx: 50, cy: 55, rx: 26, ry: 20, from: 0, to: Math.PI * 2, length: [1.5, 5], width: [0.04, 0.12], colours: ['#d98a3a', '#e9a45a', '#b86b25', '#f4c890'], curl: 0.8, droop: 0.1 })}`,
      ),
  },
  {
    // A car moving right: blurred horizontally, so its front and back edges fade over ~60 px.
    name: 'motion',
    svg: (size) =>
      svg(
        size,
        `<defs><filter id="move" x="-30%" y="-10%" width="160%" height="120%"><feGaussianBlur stdDeviation="2.5 0.05"/></filter></defs>
         <g filter="url(#move)">
           <path d="M14 62 q1 -8 9 -9 l10 -10 q4 -4 10 -4 h16 q6 0 10 5 l7 9 q10 1 11 9 v6 h-73 z" fill="#c0392b"/>
           <path d="M36 45 h10 v9 h-16 z M50 45 h10 l6 9 h-16 z" fill="#aac8e0"/>
           <circle cx="30" cy="68" r="7" fill="#222"/><circle cx="70" cy="68" r="7" fill="#222"/>
         </g>`,
      ),
  },
  {
    // A wine glass: a faint bowl (a quarter opaque), brighter rim and outline, wine in the bottom.
    name: 'glass',
    svg: (size) =>
      svg(
        size,
        `<path d="M34 14 h32 q2 26 -10 34 q-6 4 -12 0 q-12 -8 -10 -34 z" fill="#dcecf2" fill-opacity="0.22" stroke="#ffffff" stroke-opacity="0.75" stroke-width="0.5"/>
         <path d="M36.5 32 h27 q-1 12 -8 15 q-5.5 3 -11 0 q-7 -3 -8 -15 z" fill="#7a0f24" fill-opacity="0.85"/>
         <rect x="48.6" y="48" width="2.8" height="30" fill="#e8f2f6" fill-opacity="0.5"/>
         <ellipse cx="50" cy="80" rx="15" ry="3.2" fill="#e8f2f6" fill-opacity="0.45" stroke="#ffffff" stroke-opacity="0.7" stroke-width="0.4"/>`,
      ),
  },
  {
    // A head under a veil: translucent fabric (about half opaque) with folds and a soft hem.
    name: 'veil',
    svg: (size) =>
      svg(
        size,
        `<defs><filter id="hem" x="-10%" y="-10%" width="120%" height="120%"><feGaussianBlur stdDeviation="0.35"/></filter></defs>
         <path d="M26 100 q2 -16 24 -18 q22 2 24 18 z" fill="#f4f1ea"/>
         <ellipse cx="50" cy="44" rx="11" ry="14" fill="#d9a98a"/>
         <g filter="url(#hem)">
           <path d="M50 22 q-16 0 -20 20 q-6 30 -14 52 h68 q-8 -22 -14 -52 q-4 -20 -20 -20 z" fill="#ffffff" fill-opacity="0.42"/>
           <path d="M40 30 q-6 30 -16 62 M50 24 q-2 34 -4 70 M60 30 q6 30 16 62" stroke="#ffffff" stroke-opacity="0.35" stroke-width="1.2" fill="none"/>
         </g>`,
      ),
  },
  {
    // A bicycle: tyres, 32 thin spokes per wheel, a tube frame.
    name: 'bicycle',
    svg: (size) => {
      const wheel = (cx: number) => {
        const spokes = Array.from({ length: 32 }, (_, index) => {
          const angle = (index / 32) * Math.PI * 2;
          return `M${fixed(cx + Math.cos(angle) * 1.2)} ${fixed(64 + Math.sin(angle) * 1.2)} L${fixed(cx + Math.cos(angle + 0.35) * 16.5)} ${fixed(64 + Math.sin(angle + 0.35) * 16.5)}`;
        }).join(' ');
        return `<circle cx="${cx}" cy="64" r="17.3" fill="none" stroke="#1d1d1d" stroke-width="1.6"/><circle cx="${cx}" cy="64" r="16.4" fill="none" stroke="#9a9a9a" stroke-width="0.35"/><path d="${spokes}" stroke="#b8b8b8" stroke-width="0.09"/><circle cx="${cx}" cy="64" r="1.4" fill="#555"/>`;
      };
      return svg(
        size,
        `${wheel(28)}${wheel(72)}
         <path d="M28 64 L42 40 L64 40 L72 64 M42 40 L50 64 L64 40 M50 64 L28 64" stroke="#1f6fb2" stroke-width="1.3" fill="none" stroke-linejoin="round"/>
         <path d="M42 40 l-2 -6 M37 33 h7 M64 40 l-1 -8 q0 -2 3 -2 h4" stroke="#222" stroke-width="1" fill="none" stroke-linecap="round"/>`,
      );
    },
  },
  {
    // A potted plant: thin curved stems, each ending in a small leaf.
    name: 'plant',
    svg: (size) => {
      const next = random(37);
      const stems: string[] = [];
      for (let stem = 0; stem < 28; stem++) {
        const x0 = 44 + 12 * next();
        const x2 = 16 + 68 * next();
        const y2 = 10 + 40 * next();
        const x1 = (x0 + x2) / 2 + (next() - 0.5) * 16;
        const angle = Math.atan2(y2 - 66, x2 - x0) * (180 / Math.PI);
        stems.push(
          `<path d="M${fixed(x0)} 66 Q${fixed(x1)} ${fixed((66 + y2) / 2)} ${fixed(x2)} ${fixed(y2)}" stroke="#3f7a2a" stroke-width="${(0.12 + 0.18 * next()).toFixed(3)}" fill="none"/>` +
            `<ellipse cx="${fixed(x2)}" cy="${fixed(y2)}" rx="2.2" ry="0.8" fill="#4f9a32" transform="rotate(${angle.toFixed(1)} ${fixed(x2)} ${fixed(y2)})"/>`,
        );
      }
      return svg(
        size,
        `${stems.join('')}<path d="M38 66 h24 l-3 22 q-0.5 3 -3.5 3 h-11 q-3 0 -3.5 -3 z" fill="#b5563a"/><rect x="36" y="64" width="28" height="4" rx="1" fill="#9c4630"/>`,
      );
    },
  },
];
