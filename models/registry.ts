// The models ClearCut knows, as data. Files come from rembg's public model release; pre-processing
// parameters are the ones rembg's sessions pass to `normalize` (rembg/sessions/*.py).
import type { ModelSpec } from './model-spec.js';

/** Where rembg publishes its ONNX files; `CLEARCUT_MODEL_BASE_URL` replaces it (mirrors, tests). */
export const defaultBaseUrl = 'https://github.com/danielgatis/rembg/releases/download/v0.0.0/';

const imagenet = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
} as const;

// md5: the pin in rembg's source (pooch "md5:..."). sha256: of the same release files, as pinned by
// independent projects that verify them; a file that matches both is the one rembg ships.
export const registry: readonly ModelSpec[] = [
  {
    name: 'u2net',
    file: 'u2net.onnx',
    sha256: '8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491',
    md5: '60024c5c889badc19c04ad937298a77b',
    url: `${defaultBaseUrl}u2net.onnx`,
    inputSize: 320,
    ...imagenet,
    outputIndex: 0,
    // Measured (docs/worker.md, Throughput and memory): the arena keeps U²-Net 5–20 % faster for
    // no more memory. Session: 684–792 MiB peak bare at 2 threads, with Node's ~90.
    ortMemoryArena: true,
    sessionMemoryMiB: 700,
    synthetic: 'u2net',
  },
  {
    name: 'u2netp',
    file: 'u2netp.onnx',
    sha256: '309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8',
    md5: '8e83ca70e441ab06c318d82300c84806',
    url: `${defaultBaseUrl}u2netp.onnx`,
    inputSize: 320,
    ...imagenet,
    outputIndex: 0,
    ortMemoryArena: true,
    sessionMemoryMiB: 350, // 422 MiB peak bare at 2 threads, with Node's ~90
    synthetic: 'u2netp',
  },
  {
    name: 'u2net_human_seg',
    file: 'u2net_human_seg.onnx',
    sha256: '01eb6a29a5c4d8edb30b56adad9bb3a2a0535338e480724a213e0acfd2d1c73c',
    md5: 'c09ddc2e0104f800e3e1bb4652583d1f',
    url: `${defaultBaseUrl}u2net_human_seg.onnx`,
    inputSize: 320,
    ...imagenet,
    outputIndex: 0,
    ortMemoryArena: true,
    sessionMemoryMiB: 700, // the u2net network: u2net's measured figure
    // Same network as u2net, trained on people: the u2net topology stands in exactly.
    synthetic: 'u2net',
  },
  {
    // A pruned U²-Net (43 MB) whose channel widths are not published: no honest stand-in.
    name: 'silueta',
    file: 'silueta.onnx',
    sha256: '75da6c8d2f8096ec743d071951be73b4a8bc7b3e51d9a6625d63644f90ffeedb',
    md5: '55e59e0d8062d2f5d013f4725ee84782',
    url: `${defaultBaseUrl}silueta.onnx`,
    inputSize: 320,
    ...imagenet,
    outputIndex: 0,
    ortMemoryArena: true,
    // Not measurable here (no weights): u2net's figure, an upper bound for its pruned network.
    sessionMemoryMiB: 700,
  },
  {
    // IS-Net (DIS), 1024×1024 input; rembg's DisSession uses std 1 with the ImageNet mean.
    name: 'isnet-general-use',
    file: 'isnet-general-use.onnx',
    sha256: '60920e99c45464f2ba57bee2ad08c919a52bbf852739e96947fbb4358c0d964a',
    md5: 'fc16ebd8b0c10d971d3513d564d01e29',
    url: `${defaultBaseUrl}isnet-general-use.onnx`,
    inputSize: 1024,
    mean: [0.485, 0.456, 0.406],
    std: [1, 1, 1],
    outputIndex: 0,
    // Measured on the same weights widened to fp32 (bench:peer): the arena adds ~300 MiB at
    // IS-Net's peak. Session: 891 MiB peak bare at 2 threads, with Node's ~90.
    ortMemoryArena: false,
    sessionMemoryMiB: 850,
  },
];
