/**
 * Every error this package throws is a MetricInputError with the stable code `METRIC_INPUT` (safe to switch on
 * and to return from an API) and a message that names the argument, the row and the reason. `reason` is a
 * finer, also stable, classification for callers that want to tell cases apart.
 */
export const METRIC_INPUT = "METRIC_INPUT" as const;
export type MetricErrorCode = typeof METRIC_INPUT;

export type MetricInputReason =
  | "length_mismatch" // two inputs that must align do not
  | "bad_label" // a label is not a class index / not 0-1
  | "bad_score" // a score is NaN, ±Infinity or not a number
  | "bad_shape" // a score matrix does not have n rows of k columns
  | "single_class" // an AUC needs both classes (scikit-learn raises here too)
  | "empty" // nothing to compute on
  | "bad_option"; // an option is out of range

export class MetricInputError extends Error {
  override readonly name = "MetricInputError";
  readonly code = METRIC_INPUT;
  constructor(
    readonly reason: MetricInputReason,
    message: string,
  ) {
    super(message);
  }
}
