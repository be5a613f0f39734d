/** Small statistics, number formats and the text table of bench:pipeline's report. */

/** The q-quantile (0..1) of `xs` by nearest rank; NaN for an empty list. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** The sum of `xs` (0 for an empty list). */
export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** `x` with one decimal, or n/a. */
export const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
/** `x` rounded to an integer, or n/a. */
export const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
/** A fraction as a percentage with one decimal (`0.995` -> `99.5 %`), or n/a. */
export const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : 'n/a');

/** Renders rows as a left/right aligned text table (numbers right-aligned). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => /^[-+]?[\d.,]+\s*[%×s]?$|^n\/a$|^—$/.test((r[i] ?? '').trim())));
  const cell = (v: string, i: number) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]));
  const line = (r: string[]) => r.map(cell).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
