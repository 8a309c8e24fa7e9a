// A small ONNX graph builder for convolutional nets. It tracks each tensor's shape and an estimate of its
// mean square, so every convolution can draw weights that keep activations near unit scale (the job
// BatchNorm does in the trained net, here folded into the convolution as it would be for inference).
import { fillUniform, randomStream } from './random.js';

export interface Tensor {
  readonly name: string;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Estimated E[x²] over the tensor, used to scale the next convolution's weights. */
  readonly meanSquare: number;
}

export type Attribute =
  | { readonly name: string; readonly ints: readonly number[] }
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly string: string };

export interface GraphNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly Attribute[];
}

export interface Initializer {
  readonly name: string;
  readonly dims: readonly number[];
  /** Learned weights count toward the parameter total; Resize scales do not. */
  readonly parameter: boolean;
  /** Writes the values; called once, when the tensor is serialised. */
  readonly fill: (target: Float32Array) => void;
}

export interface ConvOptions {
  readonly outChannels: number;
  readonly kernel: 1 | 3;
  readonly dilation?: number;
  /** With ReLU the output is scaled to E[x²] ≈ 1; without, to a pre-activation variance of `variance`. */
  readonly relu: boolean;
  readonly variance?: number;
}

// E[a·b] / sqrt(E[a²]E[b²]) for two independent ReLU outputs of zero-mean normals is 1/π.
const reluCrossMoment = 1 / Math.PI;
// Feature maps are spatially smooth, so the max of a 2×2 window is close to its values: measured with
// onnxruntime, a gain of 1 keeps every stage's output near the mean square predicted for the residual add.
const maxPoolGain = 1;
// Biases a folded BatchNorm leaves behind: small against the pre-activation spread.
const biasShare = 0.1;

export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers: Initializer[] = [];
  private readonly scaleNames = new Map<number, string>();

  constructor(private readonly seed: number) {}

  conv(name: string, input: Tensor, options: ConvOptions): Tensor {
    const dilation = options.dilation ?? 1;
    const fanIn = input.channels * options.kernel * options.kernel;
    const preVariance = options.relu ? 2 : (options.variance ?? 1);
    const weightStd = Math.sqrt(preVariance / (fanIn * input.meanSquare));
    const biasStd = biasShare * Math.sqrt(preVariance);
    const weight = this.parameter(
      `${name}.weight`,
      [options.outChannels, input.channels, options.kernel, options.kernel],
      weightStd,
    );
    const bias = this.parameter(`${name}.bias`, [options.outChannels], biasStd);
    const pad = options.kernel === 3 ? dilation : 0;
    const convOut = options.relu ? `${name}.conv` : name;
    this.node(name, 'Conv', [input.name, weight, bias], convOut, [
      { name: 'kernel_shape', ints: [options.kernel, options.kernel] },
      { name: 'dilations', ints: [dilation, dilation] },
      { name: 'pads', ints: [pad, pad, pad, pad] },
      { name: 'strides', ints: [1, 1] },
    ]);
    if (options.relu) this.node(`${name}.relu`, 'Relu', [convOut], name, []);
    const shape = { channels: options.outChannels, height: input.height, width: input.width };
    return { name, ...shape, meanSquare: options.relu ? 1 : preVariance };
  }

  /** 2×2 stride-2 max-pool with ceil mode, as nn.MaxPool2d(2, stride=2, ceil_mode=True). */
  maxPool(name: string, input: Tensor): Tensor {
    this.node(name, 'MaxPool', [input.name], name, [
      { name: 'kernel_shape', ints: [2, 2] },
      { name: 'strides', ints: [2, 2] },
      { name: 'ceil_mode', int: 1 },
    ]);
    return {
      ...input,
      name,
      height: Math.ceil(input.height / 2),
      width: Math.ceil(input.width / 2),
      meanSquare: input.meanSquare * maxPoolGain,
    };
  }

  /** Bilinear resize of `input` to `like`'s height and width, as F.upsample(mode='bilinear'). */
  upsampleLike(name: string, input: Tensor, like: Tensor): Tensor {
    const factor = like.height / input.height;
    if (!Number.isInteger(factor) || like.width / input.width !== factor) {
      throw new Error(
        `${name}: ${input.height}×${input.width} → ${like.height}×${like.width} is not a whole-number upscale`,
      );
    }
    // Scales, not sizes: with a dynamic batch axis `sizes` would need a Shape sub-graph, and the spatial
    // size is fixed, so each upsample is an exact power of two.
    this.node(name, 'Resize', [input.name, '', this.scales(factor)], name, [
      { name: 'mode', string: 'linear' },
      // What torch.onnx emits for bilinear with align_corners=False (PyTorch's default).
      { name: 'coordinate_transformation_mode', string: 'pytorch_half_pixel' },
    ]);
    return { ...input, name, height: like.height, width: like.width };
  }

  concat(name: string, inputs: readonly Tensor[]): Tensor {
    const channels = inputs.reduce((sum, tensor) => sum + tensor.channels, 0);
    const meanSquare =
      inputs.reduce((sum, tensor) => sum + tensor.channels * tensor.meanSquare, 0) / channels;
    this.node(
      name,
      'Concat',
      inputs.map((tensor) => tensor.name),
      name,
      [{ name: 'axis', int: 1 }],
    );
    return { ...inputs[0]!, name, channels, meanSquare };
  }

  add(name: string, a: Tensor, b: Tensor): Tensor {
    this.node(name, 'Add', [a.name, b.name], name, []);
    const cross = 2 * reluCrossMoment * Math.sqrt(a.meanSquare * b.meanSquare);
    return { ...a, name, meanSquare: a.meanSquare + b.meanSquare + cross };
  }

  sigmoid(name: string, input: Tensor): Tensor {
    this.node(name, 'Sigmoid', [input.name], name, []);
    return { ...input, name, meanSquare: 0.25 };
  }

  private node(name: string, opType: string, inputs: string[], output: string, attributes: Attribute[]) {
    this.nodes.push({ name, opType, inputs, outputs: [output], attributes });
  }

  private parameter(name: string, dims: number[], std: number): string {
    const seed = this.seed;
    this.initializers.push({
      name,
      dims,
      parameter: true,
      fill: (target) => fillUniform(target, std, randomStream(seed, name)),
    });
    return name;
  }

  private scales(factor: number): string {
    let name = this.scaleNames.get(factor);
    if (!name) {
      name = `resize.scales.x${factor}`;
      this.scaleNames.set(factor, name);
      const values = [1, 1, factor, factor];
      this.initializers.push({ name, dims: [4], parameter: false, fill: (target) => target.set(values) });
    }
    return name;
  }
}
