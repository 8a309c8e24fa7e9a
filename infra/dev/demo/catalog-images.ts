import sharp from 'sharp';

// A small generated product catalog for the demo: one object (a mug, a bottle, a box, a ball...)
// on a light studio background with a soft shadow, as product photos look.

const shapes = [
  (c: string) =>
    `<rect x="95" y="90" width="130" height="150" rx="14" fill="${c}"/><path d="M225 125 q45 10 0 70" stroke="${c}" stroke-width="16" fill="none"/>`,
  (c: string) =>
    `<rect x="130" y="60" width="60" height="40" fill="${c}"/><rect x="105" y="95" width="110" height="160" rx="30" fill="${c}"/>`,
  (c: string) =>
    `<polygon points="90,110 160,75 235,110 235,225 160,260 90,225" fill="${c}"/><polygon points="160,75 235,110 160,145 90,110" fill="#ffffff" opacity="0.25"/>`,
  (c: string) =>
    `<circle cx="160" cy="165" r="85" fill="${c}"/><circle cx="130" cy="135" r="25" fill="#ffffff" opacity="0.3"/>`,
];
const colours = ['#d9480f', '#1971c2', '#2b8a3e', '#862e9c', '#e8590c', '#364fc7'];

export interface CatalogImage {
  readonly name: string;
  readonly body: Buffer;
}

export async function catalogImages(count: number, size = 320): Promise<CatalogImage[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const shape = shapes[i % shapes.length]!(colours[i % colours.length]!);
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="320">
        <rect width="320" height="320" fill="#f1f3f5"/>
        <ellipse cx="160" cy="272" rx="95" ry="14" fill="#adb5bd" opacity="0.6"/>${shape}</svg>`;
      const body = await sharp(Buffer.from(svg)).resize(size, size).jpeg({ quality: 85 }).toBuffer();
      return { name: `product-${String(i + 1).padStart(2, '0')}.jpg`, body };
    }),
  );
}
