/**
 * A small RFC 4180 CSV writer for the audit and CDR exports: CRLF line ends, a header row, fields quoted when they
 * hold a comma, a quote or a line break (quotes doubled). The cells are caller-supplied text (display names,
 * URIs), and a spreadsheet runs a cell starting with `=`, `+`, `-`, `@` (or a tab / carriage return) as a formula
 * (OWASP "CSV injection"): such text cells get a leading `'` so they are shown as text. Numbers are written as
 * they are (a negative number is not text).
 */

export type CsvCell = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell as CSV text. */
export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A whole document: the header row, then one row per record; every line ends with CRLF. */
export function toCsv(header: readonly string[], rows: Iterable<readonly CsvCell[]>): string {
  const lines = [header.map(csvCell).join(',')];
  for (const row of rows) lines.push(row.map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
