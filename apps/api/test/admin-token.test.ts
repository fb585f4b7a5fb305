/** The admin token check compares digests: every guess costs one constant-time comparison of 32 bytes. */
import { describe, expect, it } from "vitest";
import { sameToken } from "../src/plugins/auth.ts";

describe("admin token comparison", () => {
  const token = "test-admin-token-0123456789";

  it("accepts the token and refuses every other guess, whatever its length", () => {
    expect(sameToken(token, token)).toBe(true);
    for (const guess of ["", "t", token.slice(0, -1), `${token}x`, token.toUpperCase(), "é".repeat(token.length), `${token}\u0000`]) {
      expect(sameToken(guess, token), JSON.stringify(guess)).toBe(false);
    }
  });

  it("compares equal-length digests even when the lengths differ (no early return that would leak the length)", () => {
    const seen: Array<[number, number]> = [];
    const recording = (a: Buffer, b: Buffer) => (seen.push([a.length, b.length]), a.equals(b));
    for (const guess of ["", "short", token, `${token}-and-more`]) sameToken(guess, token, recording);
    expect(seen).toEqual([[32, 32], [32, 32], [32, 32], [32, 32]]);
  });
});
