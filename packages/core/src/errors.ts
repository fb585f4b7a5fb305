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
