/** A sweep spec, preset or search-space definition that cannot be used; `issues` name each field and why. */
export class SpecError extends Error {
  readonly code = "SPEC_INVALID";
  constructor(
    message: string,
    readonly issues: Array<{ path: string; message: string }> = [{ path: "(spec)", message }],
  ) {
    super(message);
    this.name = "SpecError";
  }
}

/**
 * A schedule or early-stopping argument out of range (an epoch below 1, a step size of 0, a negative patience).
 * A RangeError, so callers that already catch RangeError keep working.
 */
export class ScheduleError extends RangeError {
  readonly code = "SCHEDULE_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}

/** Every code this package's errors carry (the API maps each to a status; the compiler checks that map). */
export type CoreErrorCode = SpecError["code"] | ScheduleError["code"];
