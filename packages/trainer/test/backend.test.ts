import { describe, expect, it } from "vitest";
import { BackendUnavailableError, loadBackend, wasmBinaryDir } from "../src/backend/index.ts";
import { existsSync } from "node:fs";
import path from "node:path";

describe("loadBackend", () => {
  it("picks wasm here (tfjs-node is an optional dependency that does not install) and reports versions", async () => {
    const b = await loadBackend();
    expect(b.name).toBe("wasm");
    expect(b.tf.getBackend()).toBe("wasm");
    expect(b.versions).toMatchObject({ backend: "wasm", "tfjs-core": "4.22.0", tfjs: "4.22.0", "tfjs-backend-wasm": "4.22.0", wasmKernels: "optimised" });
    // The backend can train a conv net: the kernel tfjs-backend-wasm lacks is registered.
    expect(b.tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeDefined();
  });

  it("a forced backend that cannot load is an error naming it, never a silent fallback", async () => {
    const err = await loadBackend("tensorflow").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).code).toBe("BACKEND_UNAVAILABLE");
    expect((err as Error).message).toMatch(/^backend tensorflow is not available/);
  });

  it("can be forced to cpu and back to wasm, with one tfjs instance", async () => {
    const cpu = await loadBackend("cpu");
    expect(cpu.name).toBe("cpu");
    const wasm = await loadBackend("wasm");
    expect(wasm.name).toBe("wasm");
    expect(wasm.tf).toBe(cpu.tf);
  });

  it("finds the wasm binaries as a file path (emscripten reads them with fs in Node)", () => {
    expect(existsSync(path.join(wasmBinaryDir(), "tfjs-backend-wasm-simd.wasm"))).toBe(true);
  });
});
