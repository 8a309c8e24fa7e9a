// Product-like objects drawn as SVG on a transparent canvas: the rendering's own alpha (anti-aliased
// edges, holes through handles and straps) is the ground truth once they are pasted on a backdrop.

export interface ProductObject {
  readonly name: string;
  /** An SVG drawing of `size`×`size` px with a transparent background. */
  svg(size: number): string;
}

const svg = (size: number, body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 100 100">${body}</svg>`;

const shading = (id: string, light: string, dark: string) =>
  `<linearGradient id="${id}" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="${dark}"/><stop offset="0.35" stop-color="${light}"/><stop offset="1" stop-color="${dark}"/></linearGradient>`;

export const productObjects: readonly ProductObject[] = [
  {
    name: 'bottle',
    svg: (size) =>
      svg(
        size,
        `<defs>${shading('glass', '#4f9a62', '#173d22')}</defs>
         <rect x="44" y="10" width="12" height="8" rx="1.5" fill="#b8860b"/>
         <path d="M45 18 h10 v10 q0 6 8 10 q4 3 4 9 v38 q0 6 -6 6 h-22 q-6 0 -6 -6 v-38 q0 -6 4 -9 q8 -4 8 -10 z" fill="url(#glass)"/>
         <rect x="37" y="52" width="26" height="18" fill="#efe6d2"/><rect x="41" y="57" width="18" height="3" fill="#7a2e2e"/>`,
      ),
  },
  {
    // The handle is a ring: the backdrop shows through its hole.
    name: 'mug',
    svg: (size) =>
      svg(
        size,
        `<defs>${shading('glaze', '#5b8fd9', '#1f3f73')}</defs>
         <path fill-rule="evenodd" fill="#2a4f8a" d="M66 38 a15 15 0 1 1 0 30 v-7 a8 8 0 1 0 0 -16 z"/>
         <path d="M22 30 h46 v44 q0 10 -10 10 h-26 q-10 0 -10 -10 z" fill="url(#glaze)"/>
         <ellipse cx="45" cy="30" rx="23" ry="4" fill="#173158"/>`,
      ),
  },
  {
    name: 'sneaker',
    svg: (size) =>
      svg(
        size,
        `<defs>${shading('leather', '#f0f0ee', '#a9a9a4')}</defs>
         <path d="M8 64 q2 -14 14 -16 l18 -14 q6 -4 10 2 l8 12 q16 2 30 8 q8 4 6 12 z" fill="url(#leather)"/>
         <path d="M6 64 h88 q2 0 2 3 v3 q0 4 -4 4 h-82 q-5 0 -5 -4 v-3 q0 -3 1 -3 z" fill="#d64532"/>
         <path d="M38 40 l6 10 M44 37 l6 10 M50 36 l5 9" stroke="#444" stroke-width="1.5"/>`,
      ),
  },
  {
    // A bag with a strap arc: a thin structure with a large hole.
    name: 'handbag',
    svg: (size) =>
      svg(
        size,
        `<defs>${shading('hide', '#b06a3b', '#5a2f14')}</defs>
         <path d="M32 46 q0 -30 18 -30 q18 0 18 30" fill="none" stroke="#4a2410" stroke-width="4"/>
         <path d="M18 46 h64 l8 40 q1 5 -5 5 h-70 q-6 0 -5 -5 z" fill="url(#hide)"/>
         <rect x="44" y="52" width="12" height="7" rx="1" fill="#d9b24a"/>`,
      ),
  },
  {
    // Four thin legs: most of the box around the subject is background.
    name: 'stool',
    svg: (size) =>
      svg(
        size,
        `<defs>${shading('wood', '#c99a62', '#6e4b24')}</defs>
         <path d="M28 40 l-10 50 M72 40 l10 50 M38 42 l-4 46 M62 42 l4 46" stroke="#5b3c1b" stroke-width="3" stroke-linecap="round"/>
         <path d="M24 70 h52" stroke="#5b3c1b" stroke-width="2"/>
         <ellipse cx="50" cy="38" rx="28" ry="7" fill="url(#wood)"/><rect x="22" y="38" width="56" height="4" fill="#6e4b24"/>`,
      ),
  },
];
