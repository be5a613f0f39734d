/**
 * Prompt text clean-up before CLIP BPE, matching open_clip's `basic_clean` + `whitespace_clean` + lower-casing.
 * open_clip runs ftfy first; of ftfy's default fixes this keeps those that change prompts people type (Unicode NFC,
 * curly quotes, ligatures, full-width forms, control characters). ftfy's mojibake repair is not reproduced: prompts
 * come from presets and the app, not from mis-decoded legacy text.
 */

// The named references a prompt can realistically carry; numeric references are decoded in general.
const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  ndash: '\u2013',
  mdash: '\u2014',
  hellip: '\u2026',
  eacute: '\u00e9',
};

/** Decodes HTML character references (Python's `html.unescape` for numeric and common named ones). */
export function unescapeHtml(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[ref] ?? whole;
  });
}

const LIGATURES: Record<string, string> = {
  '\ufb00': 'ff',
  '\ufb01': 'fi',
  '\ufb02': 'fl',
  '\ufb03': 'ffi',
  '\ufb04': 'ffl',
  '\ufb05': 'ſt',
  '\ufb06': 'st',
};

/** ftfy's default character fixes that matter for typed prompts. */
function fixText(text: string): string {
  return (
    text
      .replace(/[\u2018\u2019\u201a\u201b]/g, "'")
      .replace(/[\u201c\u201d\u201e\u201f]/g, '"')
      .replace(/[\ufb00-\ufb06]/g, (c) => LIGATURES[c] ?? c)
      // Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, as ftfy's fix_character_width does.
      .replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
      .replace(/\u3000/g, ' ')
      // Control characters other than whitespace (ftfy's remove_control_chars).
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/g, '')
      .normalize('NFC')
  );
}

/** The text the BPE sees: fixed, HTML-unescaped twice (as open_clip does), whitespace collapsed, lower-cased. */
export function cleanPromptText(text: string): string {
  const fixed = unescapeHtml(unescapeHtml(fixText(text))).trim();
  return fixed.split(/\s+/u).filter(Boolean).join(' ').toLowerCase();
}
