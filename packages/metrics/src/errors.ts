/**
 * Every error this package throws is a MetricsError with a stable `code` (safe to switch on and to show in an
 * API response) and a message that names the argument, the row and the reason.
 */
export const METRICS_ERROR_CODES = {
  LENGTH_MISMATCH: "METRICS_LENGTH_MISMATCH",
  BAD_LABEL: "METRICS_BAD_LABEL",
  BAD_SCORE: "METRICS_BAD_SCORE",
  BAD_SHAPE: "METRICS_BAD_SHAPE",
  BAD_OPTION: "METRICS_BAD_OPTION",
  EMPTY: "METRICS_EMPTY",
} as const;
export type MetricsErrorCode = (typeof METRICS_ERROR_CODES)[keyof typeof METRICS_ERROR_CODES];

export class MetricsError extends Error {
  override readonly name = "MetricsError";
  constructor(
    readonly code: MetricsErrorCode,
    message: string,
  ) {
    super(message);
  }
}
