import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { encode, noisyJpeg, rectangleScene, truncated } from '../support/images.js';
import { testModelDir } from '../support/models.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'clearcut-remove-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const env = { CLEARCUT_MODEL_DIR: testModelDir, CLEARCUT_LOG_LEVEL: 'silent' };

/** `clearcut remove ...` in this process, through the CLI's main(); only stand-ins exist here. */
function clearcut(...args: string[]) {
  return runCli(env, 'remove', ...args, '--allow-synthetic');
}

/** The installed command itself, as a user runs it. */
function clearcutProcess(...args: string[]): Promise<{ status: number; out: string; err: string }> {
  const bin = new URL('../../bin/clearcut.js', import.meta.url).pathname;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, 'remove', ...args, '--allow-synthetic'],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        resolve({ status: error ? Number(error.code) : 0, out: stdout.trim(), err: stderr.trim() });
      },
    );
  });
}

async function image(width: number, height: number, format: 'png' | 'jpeg' | 'webp') {
  const scene = rectangleScene({
    width,
    height,
    subject: { left: 8, top: 8, width: width / 2, height: height / 2 },
  });
  return encode(scene.rgb, width, height, 3, format);
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)))
    .sort();
}

async function sizeOf(path: string): Promise<[number, number]> {
  const { width, height } = await sharp(path).metadata();
  return [width!, height!];
}

describe('clearcut remove', () => {
  it('turns a folder into renditions at each source size, skips non-images, fails bad files, exits 1', async () => {
    const input = join(root, 'catalog');
    const out = join(root, 'out');
    await mkdir(join(input, 'shoes'), { recursive: true });
    await writeFile(join(input, 'bag.png'), await image(120, 80, 'png'));
    await writeFile(join(input, 'shoes', 'boot.jpg'), await image(64, 96, 'jpeg'));
    await writeFile(join(input, 'hat.webp'), await image(50, 50, 'webp'));
    await writeFile(join(input, 'renamed.jpg'), await image(40, 30, 'png')); // PNG bytes, .jpg name
    await writeFile(join(input, 'notes.txt'), 'price list\n');
    await writeFile(join(input, 'fake.jpg'), 'not a picture at all\n');
    await writeFile(join(input, 'cut-short.jpg'), truncated(await noisyJpeg(64, 64), 0.6));

    const run = await clearcutProcess(
      input,
      '--out',
      out,
      '--model',
      'u2netp',
      '--rendition',
      'cutout,mask,white',
      '--threads',
      '1',
    );

    expect(run.status).toBe(1);
    expect(run.err).toContain('SYNTHETIC u2netp');
    expect(run.err).toContain('clearcut models pull u2netp');
    expect(run.err).toMatch(/skipped .*notes\.txt: The file is text/);
    expect(run.err).toMatch(/fake\.jpg: unsupported_format: The file is text/);
    expect(run.err).toMatch(/cut-short\.jpg: corrupt_image: /);
    expect(run.out).toMatch(
      /^4 of 6 images done \(12 files written to .*\) in [\d.]+ s; 1 file skipped; 2 failed$/,
    );
    expect(run.err).toMatch(/Removing backgrounds {2}100%/);

    const names = ['bag', 'hat', 'renamed', 'shoes/boot'];
    expect(await filesUnder(out)).toEqual(
      names.flatMap((name) => [`${name}.cutout.png`, `${name}.mask.png`, `${name}.white.jpg`]).sort(),
    );
    const sizes: Record<string, [number, number]> = {
      bag: [120, 80],
      hat: [50, 50],
      renamed: [40, 30],
      'shoes/boot': [64, 96],
    };
    for (const [name, size] of Object.entries(sizes)) {
      for (const rendition of ['cutout.png', 'mask.png', 'white.jpg']) {
        expect(await sizeOf(join(out, `${name}.${rendition}`))).toEqual(size);
      }
    }
  });

  it('exits 0 when every image works, and --skip-existing leaves finished ones alone', async () => {
    const input = join(root, 'clean');
    const out = join(root, 'clean-out');
    await mkdir(input);
    await writeFile(join(input, 'one.png'), await image(48, 32, 'png'));
    await writeFile(join(input, 'two.jpg'), await image(32, 48, 'jpeg'));

    const args = [input, '-o', out, '-m', 'u2netp', '-r', 'crop:webp', '--margin', '10%', '--threads', '1'];
    const first = await clearcut(...args);
    expect(first.status).toBe(0);
    expect(await filesUnder(out)).toEqual(['one.crop.webp', 'two.crop.webp']);

    const again = await clearcut(...args, '--skip-existing');
    expect(again.status).toBe(0);
    expect(again.out).toContain('2 already done before');
  });

  it('fails a source whose outputs would overwrite another one', async () => {
    const input = join(root, 'twins');
    await mkdir(input);
    await writeFile(join(input, 'item.png'), await image(32, 32, 'png'));
    await writeFile(join(input, 'item.webp'), await image(32, 32, 'webp'));
    const run = await clearcut(input, '--out', join(root, 'twins-out'), '-m', 'u2netp', '--threads', '1');
    expect(run.status).toBe(1);
    expect(run.err).toMatch(
      /item\.webp: output_collision: its output .*item\.cutout\.png would overwrite the output of .*item\.png/,
    );
    expect(await filesUnder(join(root, 'twins-out'))).toEqual(['item.cutout.png']);
  });

  it('writes each size and named rendition: --background, --sizes, clean-up flags and --rendition-json', async () => {
    const input = join(root, 'options');
    const out = join(root, 'options-out');
    await mkdir(input);
    await writeFile(join(input, 'item.png'), await image(96, 48, 'png'));
    const run = await clearcut(
      input,
      ...['--out', out, '-m', 'u2netp', '--threads', '1', '--background', '#EEE', '--sizes', '64,16'],
      // Every pixel a hard 0 or 255, then every subject region removed: the background alone.
      ...['--threshold', '255', '--remove-islands', '100000000'],
      '--rendition-json',
      '{"kind":"background","name":"grey","format":"jpeg","background":"#F5F5F5","maxSize":32}',
    );
    expect(run.status).toBe(0);
    expect(await filesUnder(out)).toEqual([
      'item.background.16.png',
      'item.background.64.png',
      'item.grey.jpg',
    ]);
    expect(await sizeOf(join(out, 'item.background.64.png'))).toEqual([64, 32]);
    expect(await sizeOf(join(out, 'item.background.16.png'))).toEqual([16, 8]);
    expect(await sizeOf(join(out, 'item.grey.jpg'))).toEqual([32, 16]);
    const { data, info } = await sharp(join(out, 'item.background.64.png'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    expect(new Set(data)).toEqual(new Set([0xee]));
  });

  it.each([
    [
      ['a.jpg', '--out', 'x', '--rendition-json', '{"kind":"background","background":"red"}'],
      /--rendition-json background: "red" is not a background: expected a colour "#RRGGBB", "#RGB"/,
    ],
    [['a.jpg', '--out', 'x', '--rendition-json', '{"kind":"background"'], /--rendition-json is not JSON/],
    [
      ['a.jpg', '--out', 'x', '--rendition-json', '{"kind":"cutout","sizes":[100,100]}'],
      /--rendition-json sizes: lists a size twice/,
    ],
    [
      [
        'a.jpg',
        '--out',
        'x',
        '-r',
        'background:jpeg',
        '--rendition-json',
        '{"kind":"background","format":"jpeg"}',
      ],
      /two "background" renditions in jpeg would write the same output; give each a `name`/,
    ],
    [
      ['a.jpg', '--out', 'x', '--rendition-json', '{"kind":"cutout"}', '--sizes', '100'],
      /--sizes applies to the --rendition list; put it in the --rendition-json object instead/,
    ],
    [
      ['a.jpg', '--out', 'x', '-r', 'cutout', '--background', '#fff'],
      /--background applies to the background rendition/,
    ],
    [
      ['a.jpg', '--out', 'x', '--background', 'grey'],
      /--background takes a colour "#RRGGBB", .*, not "grey"/,
    ],
    [
      ['a.jpg', '--out', 'x', '--background', 's3://b/k.png'],
      /--background takes a colour .*, not "s3:\/\/b\/k.png"/,
    ],
    [['a.jpg', '--out', 'x', '--sizes', '100,x'], /--sizes must be a whole number from 16 to 16384, not "x"/],
    [['a.jpg', '--out', 'x', '--sizes', '100', '--max-size', '50'], /give --sizes or --max-size, not both/],
    [['a.jpg', '--out', 'x', '--threshold', '256'], /--threshold must be a whole number from 1 to 255/],
    [['photo.jpg'], /--out is required/],
    [['--out', 'x'], /name at least one image file or folder/],
    [
      ['a.jpg', '--out', 'x', '--rendition', 'cutout', '--format', 'jpeg'],
      /--format jpeg does not apply to cutout, which can be png or webp/,
    ],
    [['a.jpg', '--out', 'x', '--rendition', 'mask:webp'], /--rendition mask:webp: mask can be png/],
    [
      ['a.jpg', '--out', 'x', '--rendition', 'shadow'],
      /unknown rendition "shadow" \(kinds: cutout, mask, white, crop, /,
    ],
    [['a.jpg', '--out', 'x', '--rendition', 'cutout,cutout'], /would write the same output/],
    [['a.jpg', '--out', 'x', '--square'], /--square applies to the white rendition/],
    [['a.jpg', '--out', 'x', '-r', 'crop', '--margin', 'wide'], /--margin must be whole pixels/],
    [['a.jpg', '--out', 'x', '--quality', '0'], /--quality must be a whole number from 1 to 100, not "0"/],
    [['a.jpg', '--out', 'x', '--threads', 'many'], /--threads must be a whole number from 1 to 256/],
    [['a.jpg', '--out', 'x', '--bogus'], /Unknown option '--bogus'/],
  ])('refuses %j with a precise message and status 2', async (args, message) => {
    const run = await clearcut(...args);
    expect(run.status).toBe(2);
    expect(run.err).toMatch(message);
  });

  it('refuses an unknown model, listing the known ones', async () => {
    const input = join(root, 'model');
    await mkdir(input);
    await writeFile(join(input, 'a.png'), await image(16, 16, 'png'));
    const run = await clearcut(input, '--out', join(root, 'model-out'), '--model', 'u3net');
    expect(run.status).toBe(2);
    expect(run.err).toMatch(/Unknown model "u3net"\. Known models: u2net, u2netp/);
  });

  it('exits 1 without weights unless --allow-synthetic, naming the model and the fix', async () => {
    const input = join(root, 'no-weights');
    await mkdir(input);
    await writeFile(join(input, 'a.png'), await image(16, 16, 'png'));
    const out = join(root, 'no-weights-out');
    const emptyDir = join(root, 'empty-model-dir');
    const run = await runCli(
      { ...env, CLEARCUT_MODEL_DIR: emptyDir },
      'remove',
      input,
      '--out',
      out,
      '-m',
      'u2netp',
    );
    expect(run.status).toBe(1);
    expect(run.err).toMatch(
      /Model u2netp has no weights in .*empty-model-dir; only its synthetic stand-in could serve, whose masks are meaningless\. Run `clearcut models pull u2netp`, or `clearcut models import FILE`.* --allow-synthetic uses the synthetic stand-in\./,
    );
    expect(await readdir(root)).not.toContain('no-weights-out');
    expect(await readdir(root)).not.toContain('empty-model-dir'); // nothing built either
  });

  it('says so when there is nothing to do, once per missing path', async () => {
    const run = await clearcut(join(root, 'no-such-folder'), '--out', join(root, 'nothing'));
    expect(run.status).toBe(1);
    expect(run.out).toMatch(/0 of 0 images done .*; 1 failed$/);
    expect(run.err).toMatch(/no-such-folder: not_found: no such file or folder/);
    expect(run.err).not.toContain('no_images');
    const empty = join(root, 'empty-folder');
    await mkdir(empty);
    const none = await clearcut(join(root, 'no-such-folder'), empty, '--out', join(root, 'nothing'));
    expect(none.status).toBe(1);
    expect(none.err).toMatch(/no-such-folder: not_found: no such file or folder/);
    expect(none.err).toMatch(/\n {2}\S*empty-folder: no_images: no JPEG, PNG or WebP images found/);
  });

  it('refuses an --out that is a file before loading a model', async () => {
    const file = join(root, 'a-file.jpg');
    await writeFile(file, 'not a folder');
    const run = await clearcut(join(root, 'no-such-folder'), '--out', file);
    expect(run.status).toBe(2);
    expect(run.err).toContain(`--out ${file} is a file; name a folder`);
  });

  it('prints its help', async () => {
    const run = await clearcut('--help');
    expect(run.status).toBe(0);
    expect(run.out).toContain('Usage: clearcut remove <files or folders...> --out DIR');
  });
});
