import type { Job } from '../contracts/job.js';
import { objectKeyProblem } from '../contracts/object-keys.js';
import { storableText } from '../contracts/storable-text.js';
import { allows, type Grant } from '../policy/grants.js';
import { type InputProblem, sourceId } from './expansion-store.js';
import type { InputEntry } from './input-entries.js';

// Pure: which entries of one page become tasks, and why the others do not.

export interface PagePlan {
  readonly sources: { readonly bucket: string; readonly key: string }[];
  readonly problems: InputProblem[];
}

export interface PageContext {
  readonly output: Job['output'];
  readonly grants: readonly Grant[];
  /** Entries counted before this page (items + skipped): positions of prefix entries follow on. */
  readonly counted: number;
  /** Sources earlier pages made tasks of. */
  readonly existing: ReadonlySet<string>;
}

export function planPage(entries: readonly InputEntry[], context: PageContext): PagePlan {
  const sources: PagePlan['sources'] = [];
  const problems: InputProblem[] = [];
  const seen = new Set<string>();
  let counted = context.counted;
  for (const entry of entries) {
    if (entry.source === undefined && entry.problem === undefined) continue; // blank, header, folder marker
    counted += 1;
    const position = entry.line ?? counted;
    const skip = (code: string, message: string) =>
      problems.push(storableProblem(position, entry.text, code, message));
    if (entry.problem) {
      skip(entry.problem.code, entry.problem.message);
      continue;
    }
    const source = entry.source!;
    const where = `s3://${source.bucket}/${source.key}`;
    const keyProblem = objectKeyProblem(source.key);
    if (keyProblem) skip('invalid_key', `key ${JSON.stringify(source.key)} ${keyProblem}`);
    else if (source.bucket === context.output.bucket && source.key.startsWith(context.output.prefix)) {
      skip('output_location', `${where} is under the job's output prefix; outputs are never inputs`);
    } else if (!allows(context.grants, source, 'read'))
      skip('forbidden_location', `no read grant on ${where}`);
    else if (seen.has(sourceId(source)) || context.existing.has(sourceId(source))) {
      skip('duplicate', `${where} is already an item of this job`);
    } else {
      seen.add(sourceId(source));
      sources.push(source);
    }
  }
  return { sources, problems };
}

/** A problem PostgreSQL can store: the entry comes from outside and may hold NUL or broken Unicode. */
export function storableProblem(position: number, text: string, code: string, message: string): InputProblem {
  const entry = storableText(text);
  const said = storableText(message).text;
  return {
    position,
    entry: entry.text,
    code,
    message: entry.note ? `${said} (the entry ${entry.note})` : said,
  };
}
