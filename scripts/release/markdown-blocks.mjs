// Reading Markdown the way the README checks need it: fenced code blocks (with their language and
// the line of the opening fence) and the prose lines around them.

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)[^`]*$/;

/**
 * The fenced code blocks of `text`: `{ lang, code, line }`, `line` being the 1-based line of the
 * opening fence. A block indented (a list item's) has that indentation removed from its lines.
 */
export function codeBlocks(text) {
  return scan(text).blocks;
}

/** The lines outside fenced code blocks: `{ text, line }`. */
export function proseLines(text) {
  return scan(text).prose;
}

function scan(text) {
  const blocks = [];
  const prose = [];
  let open;
  text.split('\n').forEach((lineText, i) => {
    if (open) {
      const t = lineText.trim();
      if (t.startsWith(open.fence) && /^[`~]+$/.test(t)) {
        blocks.push({ lang: open.lang, code: open.lines.join('\n') + '\n', line: open.line });
        open = undefined;
      } else {
        open.lines.push(lineText.startsWith(open.indent) ? lineText.slice(open.indent.length) : lineText.trimStart());
      }
      return;
    }
    const m = FENCE.exec(lineText);
    if (m) {
      open = { fence: m[2], lang: m[3].toLowerCase(), line: i + 1, lines: [], indent: m[1] };
    } else {
      prose.push({ text: lineText, line: i + 1 });
    }
  });
  return { blocks, prose };
}
