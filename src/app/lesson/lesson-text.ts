// A lesson's text as the page shows it: paragraphs (split at blank lines; a single line break stays a
// line break) of plain runs and `inline code`. Nothing else is interpreted: the pieces are rendered as
// text nodes, so a link's `<b>` or `<script>` is shown as typed and never becomes an element.

export interface TextRun {
  text: string;
  code: boolean;
}

/** Paragraphs of runs; a backtick without a partner is kept as a character. */
export function lessonParagraphs(text: string): TextRun[][] {
  return text
    .split(/\n[ \t]*\n+/)
    .map((p) => p.replace(/^\n+|\n+$/g, ''))
    .filter((p) => p.trim() !== '')
    .map(runsOf);
}

function runsOf(paragraph: string): TextRun[] {
  const runs: TextRun[] = [];
  const code = /`([^`\n]+)`/g;
  let at = 0;
  for (let match = code.exec(paragraph); match; match = code.exec(paragraph)) {
    if (match.index > at) runs.push({ text: paragraph.slice(at, match.index), code: false });
    runs.push({ text: match[1], code: true });
    at = match.index + match[0].length;
  }
  if (at < paragraph.length) runs.push({ text: paragraph.slice(at), code: false });
  return runs;
}
