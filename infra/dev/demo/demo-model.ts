// The demo's model: real weights when installed or downloadable (U²-Netp, 4.6 MB), else — said
// plainly — the synthetic stand-in, which the demo's worker is then explicitly allowed to serve.
import { relative } from 'node:path';
import type { Config } from '../../../src/config.js';
import { errorMessage } from '../../../src/errors.js';
import { pullModel } from '../../../src/models/model-download.js';
import { findModel, resolveModel } from '../../../src/models/registry.js';
import { repositoryRoot } from './children.js';

export interface DemoModel {
  readonly name: string;
  /** No weights: the worker needs CLEARCUT_ALLOW_SYNTHETIC_MODELS=true, and the masks mean nothing. */
  readonly synthetic: boolean;
}

export async function chooseDemoModel(config: Config, print: (line: string) => void): Promise<DemoModel> {
  for (const name of ['u2net', 'u2netp']) {
    const resolved = await resolveModel(config.models, name, { allowSynthetic: false }).catch(
      () => undefined,
    );
    if (resolved) {
      print(`• model: ${name} with the real weights in ${relative(repositoryRoot, resolved.path)}`);
      return { name, synthetic: false };
    }
  }
  print('• no model weights installed: downloading u2netp (4.6 MB, like `clearcut models pull u2netp`)');
  try {
    const pulled = await pullModel(config.models, findModel('u2netp'), { idleTimeoutMs: 10_000 });
    print(`• model: u2netp with the real weights, downloaded and sha256-verified into ${pulled.path}`);
    return { name: 'u2netp', synthetic: false };
  } catch (error) {
    print(
      `• could not download u2netp: ${errorMessage(error)}\n` +
        '• FALLING BACK to the SYNTHETIC stand-in of u2netp: the same network and cost, MEANINGLESS masks;\n' +
        '  every output is marked model-synthetic. For real cutouts install the weights and run the demo\n' +
        '  again: `npx clearcut models pull u2netp` online, or `npx clearcut models import u2netp.onnx`\n' +
        '  with a file copied from a machine that is.',
    );
    await resolveModel(config.models, 'u2netp'); // builds the stand-in now, not in the worker's start
    return { name: 'u2netp', synthetic: true };
  }
}
