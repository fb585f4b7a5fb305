/**
 * CSV (RFC 4180) lines for the API's downloads. A field with a comma, quote or line break is quoted; a text
 * field a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is prefixed with a quote mark.
 */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly (string | number | null | undefined)[]): string {
  return values.map(csvField).join(",");
}
