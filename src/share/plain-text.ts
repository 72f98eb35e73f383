// Text a link carries (a title, a lesson's text, an arm's label) is shown as text, never as HTML; these
// patterns say which characters it may not keep and what looks like markup.

// Characters never shown as they are: C0/C1 controls, bidi embeddings/overrides/isolates (they can
// reorder the surrounding text), the BOM, and lone surrogates (not text at all).
export const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
export const LINE_BREAKS = /[\t\n\v\f\r\u2028\u2029]/g;
export const HTML_LIKE = /<\/?[a-z][a-z0-9-]{0,20}(?=[\s/>])|<!--|javascript:/i;

/**
 * Multi-line text (a lesson's): line breaks become `\n` (a tab a space), every other unsafe character
 * goes. `stripped` says whether anything but a line break changed.
 */
export function cleanMultiline(text: string): { text: string; stripped: boolean } {
  const lines = text.replace(/\r\n?|[\u2028\u2029\v\f]/g, '\n').replace(/\t/g, ' ');
  // `\n` is the one control character kept.
  const clean = lines.replace(UNSAFE, (c) => (c === '\n' ? c : ''));
  return { text: clean, stripped: clean.length !== lines.length };
}
