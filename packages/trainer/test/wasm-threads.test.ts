/**
 * The threaded wasm backend depends on the shape of tfjs-backend-wasm's Node bundle (wasm-threads.ts). These
 * tests pin that: an upgrade that changes it fails here, by name, instead of silently training on one thread.
 * (That threads run, and give the same results as one, is tested on the real trainer process.)
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { enableWasmThreads, pthreadWorkerScript } from "../src/backend/wasm-threads.ts";

const bundle = readFileSync(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"), "utf8");

describe("pthread worker script for Node", () => {
  it("is made from the installed tfjs-backend-wasm: the Blob loader replaced, the bundle's module names defined", () => {
    const script = pthreadWorkerScript(bundle);
    expect(script).toContain("e.data.urlOrBlob.text()");
    expect(script).not.toContain("importScripts(objectUrl)");
    expect(script.startsWith('var require$$0=require("fs")')).toBe(true);
    // It is one valid script (newlines inside its string literals stay escaped).
    expect(() => new Function(script)).not.toThrow();
  });

  it("names what is missing when the bundle has another shape", () => {
    expect(() => pthreadWorkerScript("var somethingElse = 1;")).toThrow(/worker script was not found/);
    const noLoader = bundle.replace("importScripts(objectUrl)", "loadSomehow(objectUrl)");
    expect(() => pthreadWorkerScript(noLoader)).toThrow(/unexpected loader/);
    const noOs = bundle.replace("var require$$4 = require('os');", "var osModule = require('os');");
    expect(() => pthreadWorkerScript(noOs)).toThrow(/no longer declares require\$\$4 = require\('os'\)/);
  });

  it("is not asked for below two threads", () => {
    const calls: unknown[] = [];
    const r = enableWasmThreads({ env: () => ({ set: (...a: unknown[]) => calls.push(a) }) }, { setThreadsCount: (n) => calls.push(n) }, 1);
    expect(r).toEqual({ enabled: false, reason: "threads = 1" });
    expect(calls).toEqual([]);
  });
});
