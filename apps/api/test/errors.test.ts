/** The error → status map: exhaustive over every package's codes (checked by the compiler), and applied. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "@hypersweep/config";
import { ScheduleError, SpecError } from "@hypersweep/core";
import { CacheError, DatasetInvalidError, ScenarioError, SplitLeakageError, ArchiveError } from "@hypersweep/data";
import { ConflictError, InvalidRequestError, LeaseLostError, LimitError, NotFoundError } from "@hypersweep/db";
import { MetricInputError } from "@hypersweep/metrics";
import { STATUS_BY_CODE, toHttpError, type ErrorCode, type StatusMap } from "../src/errors.ts";

// Type level: a map that leaves out one code does not compile (the real map is declared `satisfies StatusMap`).
const { METRIC_INPUT: _metric, ...withoutMetricInput } = STATUS_BY_CODE;
// @ts-expect-error METRIC_INPUT has no status
const incomplete: StatusMap = withoutMetricInput;
// @ts-expect-error a code no package declares is not an ErrorCode
const unknownCode: ErrorCode = "NOT_A_CODE";
void incomplete;
void unknownCode;

describe("error → status map", () => {
  it("maps every package's errors to their statuses, never to the 500 fallback by accident", () => {
    const cases: Array<[unknown, number, string]> = [
      [new ScheduleError("stepSize must be at least 1"), 400, "SCHEDULE_INVALID"],
      [new SpecError("bad preset"), 400, "SPEC_INVALID"],
      [new ScenarioError("one class"), 400, "SCENARIO_INVALID"],
      [new DatasetInvalidError([]), 400, "DATASET_INVALID"],
      [new ArchiveError("not an archive"), 400, "ARCHIVE_INVALID"],
      [new SplitLeakageError(["P1"], "P1 in two splits"), 400, "SPLIT_LEAKAGE"],
      [new MetricInputError("single_class", "y_true holds one class: AUC is undefined"), 422, "METRIC_INPUT"],
      [new NotFoundError("sweep", "x"), 404, "NOT_FOUND"],
      [new InvalidRequestError("bad"), 400, "INVALID"],
      [new ConflictError("busy"), 409, "CONFLICT"],
      [new LeaseLostError("t", 2), 409, "LEASE_LOST"],
      [new LimitError(10, 9, 2, "over"), 429, "LIMIT_EXCEEDED"],
      [new CacheError("corrupt index at /srv/hypersweep/cache/abc/index.json"), 500, "CACHE_INVALID"],
      [new ConfigError([{ variable: "PORT", message: "bad" }]), 500, "CONFIG_INVALID"],
    ];
    for (const [err, status, code] of cases) {
      const http = toHttpError(err);
      expect({ code: http.code, status: http.statusCode }).toEqual({ code, status });
    }
    // Every code of the map was exercised above.
    expect(new Set(cases.map((c) => c[2]))).toEqual(new Set(Object.keys(STATUS_BY_CODE)));
  });

  it("answers server-side codes without their details, and inherited names are no code", () => {
    expect(toHttpError(new CacheError("corrupt index at /srv/hypersweep/cache/abc/index.json")).message).not.toContain("/srv");
    for (const code of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const err = Object.assign(new Error("odd"), { code });
      expect(toHttpError(err).statusCode).toBe(500);
    }
  });
});
