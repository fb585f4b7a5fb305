/** Number and time formats shared by every page. */
export const num = (v: number | null | undefined, digits = 3): string => (v == null || !Number.isFinite(v) ? "–" : v.toFixed(digits));
export const lr = (v: number): string => (v >= 0.001 ? String(v) : v.toExponential(0));
export const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;
export const subset = (augs: readonly string[]): string => (augs.length ? augs.join(" + ") : "none");

export function duration(seconds: number | null | undefined): string {
  if (seconds == null) return "–";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export const date = (iso: string | null | undefined): string => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–");

export function ago(iso: string, now = Date.now()): string {
  return `${duration(Math.max(0, (now - new Date(iso).getTime()) / 1000))} ago`;
}

/** An estimate with its 95% interval, e.g. "0.912 [0.861, 0.955]". */
export function withInterval(estimate: number | null | undefined, ci?: { lower: number; upper: number } | null): string {
  if (estimate == null) return "–";
  return ci ? `${num(estimate)} [${num(ci.lower)}, ${num(ci.upper)}]` : num(estimate);
}
