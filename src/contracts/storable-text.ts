// Pure: text from outside (manifest lines, keys, error messages quoting them) in a form PostgreSQL
// can store. A `text` column refuses the NUL character outright ("invalid byte sequence for
// encoding UTF8: 0x00"), and a lone UTF-16 surrogate has no UTF-8 form at all (the driver would
// silently turn it into U+FFFD). Both are written as visible `\uXXXX` escapes instead, and the
// caller is told which, so it can say so next to the text.

export interface StorableText {
  readonly text: string;
  /** What was escaped, for a note next to the text; undefined when the text was stored as given. */
  readonly note?: string;
}

// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const unpaired = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const unpairedSurrogate = new RegExp(unpaired);
const unstorable = new RegExp(`\\u0000|${unpaired}`, 'g');

/** Whether the text has an unpaired surrogate: it has no UTF-8 form, so it cannot be an S3 key. */
export const hasUnpairedSurrogate = (text: string): boolean => unpairedSurrogate.test(text);

const unpairedSurrogates = new RegExp(unpaired, 'g');

/** The text with each unpaired surrogate as U+FFFD, as pg's text parameters write it (String#toWellFormed). */
export const wellFormed = (text: string): string => text.replace(unpairedSurrogates, '\uFFFD');

const unicodeEscape = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

export function storableText(text: string): StorableText {
  let nul = false;
  let surrogate = false;
  const escaped = text.replace(unstorable, (char) => {
    if (char === '\u0000') nul = true;
    else surrogate = true;
    return unicodeEscape(char);
  });
  if (!nul && !surrogate) return { text };
  const what = [nul ? 'NUL characters' : '', surrogate ? 'unpaired UTF-16 surrogates' : '']
    .filter(Boolean)
    .join(' and ');
  return { text: escaped, note: `contained ${what}, shown as \\uXXXX escapes` };
}
