// Recognises ClearCut's synthetic stand-ins by the marker their builder writes into the ONNX file's
// metadata (models/synth), so such a file can never be installed as a model under another name.
import { readFile } from 'node:fs/promises';
import { decodeModel } from '../quantize/onnx-model.js';

export const syntheticMarker = 'clearcut.synthetic';

export async function isSyntheticModelFile(path: string): Promise<boolean> {
  const model = decodeModel(await readFile(path));
  return (model.metadataProps ?? []).some((entry) => entry.key === syntheticMarker && entry.value === 'true');
}
