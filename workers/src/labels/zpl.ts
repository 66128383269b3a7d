import type { Layout, LayoutElement } from './layout.js';
import { layoutLabel } from './layout.js';
import type { Label, LabelSize } from './model.js';

/**
 * ZPL II for Zebra (and ZPL-compatible) printers at 203 dpi. One format (`^XA` … `^XZ`) per
 * label; the output is plain 7-bit ASCII and depends on nothing but its input.
 *
 * - `^CI28`: field data is UTF-8. Every field is written with `^FH` (hexadecimal escapes,
 *   indicator `_`), and each byte that is not printable ASCII, or is `^` (command prefix),
 *   `~` (control prefix), `_` (the indicator itself) or `\` (a line break inside `^FB`), is
 *   written as `_XX`: a name can never end a field or start a command, and non-ASCII text
 *   arrives as its UTF-8 bytes. Font 0 (`^A0`) has Latin, Greek and Cyrillic glyphs; other
 *   scripts need a Unicode font stored on the printer.
 * - Texts: `^FO` + `^A0N,h,h` + a one-line `^FB` block (for centring).
 * - Barcodes: `^BY` module width + `^BCN,h,N,N,N` (Code 128, no interpretation line: the
 *   human-readable text is a field of its own) with subsets and FNC1 written out in the data
 *   (`code128.ts`); GS1-128 starts with `>8`, the FNC1 that marks GS1 data.
 */

const HEX_INDICATOR = '_';
const SPECIAL = new Set(['^', '~', '_', '\\']);
const utf8 = new TextEncoder();

/** Field data for `^FH^FD…^FS`: printable ASCII as is, everything else as `_XX` UTF-8 bytes. */
export function escapeFieldData(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code <= 0x7e && !SPECIAL.has(ch)) {
      out += ch;
      continue;
    }
    for (const byte of utf8.encode(ch)) {
      out += HEX_INDICATOR + byte.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

function field(e: LayoutElement): string {
  if (e.kind === 'text') {
    const justify = e.align === 'center' ? 'C' : 'L';
    return (
      `^FO${e.x},${e.y}^A0N,${e.height},${e.height}^FB${e.width},1,0,${justify},0` +
      `^FH^FD${escapeFieldData(e.text)}^FS`
    );
  }
  return (
    `^FO${e.x},${e.y}^BY${e.module},3,${e.height}^BCN,${e.height},N,N,N` +
    `^FH^FD${escapeFieldData(e.plan.zplData)}^FS`
  );
}

/** One label's format, from its layout. */
export function zplFromLayout(layout: Layout): string {
  return [
    '^XA',
    '^CI28',
    `^PW${layout.widthDots}`,
    `^LL${layout.heightDots}`,
    '^LH0,0',
    ...layout.elements.map(field),
    '^PQ1',
    '^XZ',
    '',
  ].join('\n');
}

/** The ZPL of one or more labels, one format each, in order. Throws `LabelError`. */
export function renderZpl(labels: readonly Label[], size: LabelSize): string {
  return labels.map((label) => zplFromLayout(layoutLabel(label, size))).join('');
}
