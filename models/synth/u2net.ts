// The U²-Net and U²-Netp topologies of Qin et al. 2020 (github.com/xuebinqin/U-2-Net, model/u2net.py),
// layer for layer: RSU-L blocks of REBNCONV (3×3 conv + BN + ReLU; BN folded here), ceil-mode max-pools,
// bilinear upsampling, concatenation, a residual add per block, six side outputs and a 1×1 fusion.
import { GraphBuilder, type Tensor } from './graph.js';

export type Topology = 'u2net' | 'u2netp';
/** RSU-7 … RSU-4 have L levels with pooling; RSU-4F keeps full resolution and dilates instead. */
export type BlockKind = 'RSU7' | 'RSU6' | 'RSU5' | 'RSU4' | 'RSU4F';

interface StageSpec {
  readonly name: string;
  readonly kind: BlockKind;
  readonly mid: number;
  readonly out: number;
}

export interface Block {
  readonly name: string;
  readonly kind: BlockKind;
}

/** Encoder stage1..6 and decoder stage5d..1d: block kind, middle and output channels (model/u2net.py). */
const stages: Record<Topology, readonly StageSpec[]> = {
  u2net: [
    { name: 'stage1', kind: 'RSU7', mid: 32, out: 64 },
    { name: 'stage2', kind: 'RSU6', mid: 32, out: 128 },
    { name: 'stage3', kind: 'RSU5', mid: 64, out: 256 },
    { name: 'stage4', kind: 'RSU4', mid: 128, out: 512 },
    { name: 'stage5', kind: 'RSU4F', mid: 256, out: 512 },
    { name: 'stage6', kind: 'RSU4F', mid: 256, out: 512 },
    { name: 'stage5d', kind: 'RSU4F', mid: 256, out: 512 },
    { name: 'stage4d', kind: 'RSU4', mid: 128, out: 256 },
    { name: 'stage3d', kind: 'RSU5', mid: 64, out: 128 },
    { name: 'stage2d', kind: 'RSU6', mid: 32, out: 64 },
    { name: 'stage1d', kind: 'RSU7', mid: 16, out: 64 },
  ],
  u2netp: [
    { name: 'stage1', kind: 'RSU7', mid: 16, out: 64 },
    { name: 'stage2', kind: 'RSU6', mid: 16, out: 64 },
    { name: 'stage3', kind: 'RSU5', mid: 16, out: 64 },
    { name: 'stage4', kind: 'RSU4', mid: 16, out: 64 },
    { name: 'stage5', kind: 'RSU4F', mid: 16, out: 64 },
    { name: 'stage6', kind: 'RSU4F', mid: 16, out: 64 },
    { name: 'stage5d', kind: 'RSU4F', mid: 16, out: 64 },
    { name: 'stage4d', kind: 'RSU4', mid: 16, out: 64 },
    { name: 'stage3d', kind: 'RSU5', mid: 16, out: 64 },
    { name: 'stage2d', kind: 'RSU6', mid: 16, out: 64 },
    { name: 'stage1d', kind: 'RSU7', mid: 16, out: 64 },
  ],
};

const levels: Record<Exclude<BlockKind, 'RSU4F'>, number> = { RSU7: 7, RSU6: 6, RSU5: 5, RSU4: 4 };

// Side outputs are logits; this spread keeps their sigmoids away from 0 and 1 while still varying.
const sideVariance = 2;

export interface U2NetGraph {
  readonly builder: GraphBuilder;
  readonly input: Tensor;
  /** d0 (fused) first, then d1..d6, as the reference forward() returns them. */
  readonly outputs: readonly Tensor[];
  readonly blocks: readonly Block[];
}

export function buildU2Net(topology: Topology, seed: number, inputSize = 320): U2NetGraph {
  const g = new GraphBuilder(seed);
  const input: Tensor = { name: 'input', channels: 3, height: inputSize, width: inputSize, meanSquare: 1 };
  const spec = stages[topology];
  const stage = (index: number, x: Tensor) => rsu(g, spec[index]!, x);

  const hx1 = stage(0, input);
  const hx2 = stage(1, g.maxPool('pool12', hx1));
  const hx3 = stage(2, g.maxPool('pool23', hx2));
  const hx4 = stage(3, g.maxPool('pool34', hx3));
  const hx5 = stage(4, g.maxPool('pool45', hx4));
  const hx6 = stage(5, g.maxPool('pool56', hx5));

  // Top-level nodes are named `decoder.*`, so `<stage>.*` names only the nodes inside that stage's block.
  const decode = (index: number, deeper: Tensor, skip: Tensor) => {
    const name = `decoder.${spec[index]!.name}`;
    return stage(index, g.concat(`${name}.cat`, [g.upsampleLike(`${name}.up`, deeper, skip), skip]));
  };
  const hx5d = decode(6, hx6, hx5);
  const hx4d = decode(7, hx5d, hx4);
  const hx3d = decode(8, hx4d, hx3);
  const hx2d = decode(9, hx3d, hx2);
  const hx1d = decode(10, hx2d, hx1);

  const side = (index: number, x: Tensor) =>
    g.conv(`side${index}`, x, { outChannels: 1, kernel: 3, relu: false, variance: sideVariance });
  const d1 = side(1, hx1d);
  const sides = [
    d1,
    ...[hx2d, hx3d, hx4d, hx5d, hx6].map((x, i) => g.upsampleLike(`side${i + 2}.up`, side(i + 2, x), d1)),
  ];
  const d0 = g.conv('outconv', g.concat('side.cat', sides), {
    outChannels: 1,
    kernel: 1,
    relu: false,
    variance: sideVariance,
  });
  const outputs = [d0, ...sides].map((logits, i) => g.sigmoid(`d${i}`, logits));
  return { builder: g, input, outputs, blocks: spec.map(({ name, kind }) => ({ name, kind })) };
}

function rsu(g: GraphBuilder, { name, kind, mid, out }: StageSpec, x: Tensor): Tensor {
  const conv = (layer: string, input: Tensor, channels: number, dilation = 1) =>
    g.conv(`${name}.${layer}`, input, { outChannels: channels, kernel: 3, dilation, relu: true });
  const hxin = conv('rebnconvin', x, out);
  return kind === 'RSU4F'
    ? rsu4f(g, name, conv, hxin, mid, out)
    : rsuL(g, name, levels[kind], conv, hxin, mid, out);
}

type Conv = (layer: string, input: Tensor, channels: number, dilation?: number) => Tensor;

/** RSU-L: encoder convs 1..L-1 with a pool between them, conv L dilated by 2, decoder back up. */
function rsuL(
  g: GraphBuilder,
  name: string,
  depth: number,
  conv: Conv,
  hxin: Tensor,
  mid: number,
  out: number,
) {
  const encoder: Tensor[] = [conv('rebnconv1', hxin, mid)];
  for (let level = 2; level < depth; level++) {
    const pooled = g.maxPool(`${name}.pool${level - 1}`, encoder[encoder.length - 1]!);
    encoder.push(conv(`rebnconv${level}`, pooled, mid));
  }
  let hx = conv(`rebnconv${depth}`, encoder[encoder.length - 1]!, mid, 2);
  for (let level = depth - 1; level >= 1; level--) {
    const skip = encoder[level - 1]!;
    const deeper = level === depth - 1 ? hx : g.upsampleLike(`${name}.up${level + 1}d`, hx, skip);
    hx = conv(`rebnconv${level}d`, g.concat(`${name}.cat${level}d`, [deeper, skip]), level === 1 ? out : mid);
  }
  return g.add(`${name}.residual`, hx, hxin);
}

/** RSU-4F: no pooling; dilations 1, 2, 4, 8 on the way down, 4, 2, 1 on the way up. */
function rsu4f(g: GraphBuilder, name: string, conv: Conv, hxin: Tensor, mid: number, out: number) {
  const hx1 = conv('rebnconv1', hxin, mid, 1);
  const hx2 = conv('rebnconv2', hx1, mid, 2);
  const hx3 = conv('rebnconv3', hx2, mid, 4);
  const hx4 = conv('rebnconv4', hx3, mid, 8);
  const hx3d = conv('rebnconv3d', g.concat(`${name}.cat3d`, [hx4, hx3]), mid, 4);
  const hx2d = conv('rebnconv2d', g.concat(`${name}.cat2d`, [hx3d, hx2]), mid, 2);
  const hx1d = conv('rebnconv1d', g.concat(`${name}.cat1d`, [hx2d, hx1]), out, 1);
  return g.add(`${name}.residual`, hx1d, hxin);
}
