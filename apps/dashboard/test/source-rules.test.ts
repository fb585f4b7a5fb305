/**
 * The dashboard's source never turns a string into markup or code: no innerHTML / outerHTML /
 * insertAdjacentHTML / document.write, no eval or Function constructor, no style attributes set as markup (the
 * page's CSP refuses them). Every string reaches the page as a Text node through dom.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DASHBOARD_WEB } from "../src/index.ts";

const RULES: Array<[RegExp, string]> = [
  [/\.(inner|outer)HTML\b/, "innerHTML/outerHTML parses markup"],
  [/insertAdjacentHTML|createContextualFragment|DOMParser/, "parses markup"],
  [/document\.write/, "document.write parses markup"],
  [/\beval\s*\(|new\s+Function\s*\(/, "runs a string as code"],
  [/setAttribute\(\s*["']style["']/, "style attributes are refused by the CSP"],
  [/setAttribute\(\s*["']on\w+["']/, "inline event handlers are refused by the CSP"],
];

export function violations(source: string): string[] {
  return RULES.filter(([re]) => re.test(source)).map(([, why]) => why);
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.(ts|js|html)$/.test(e.name) ? [join(dir, e.name)] : []));
}

describe("dashboard source rules", () => {
  it("flag each way of turning a string into markup or code", () => {
    expect(violations("el.innerHTML = name")).toHaveLength(1);
    expect(violations("el.insertAdjacentHTML('beforeend', x)")).toHaveLength(1);
    expect(violations("eval(x); new Function('a', b)")).toHaveLength(1);
    expect(violations('el.setAttribute("style", s)')).toHaveLength(1);
    expect(violations('el.setAttribute("onclick", s)')).toHaveLength(1);
    expect(violations("el.textContent = name")).toEqual([]);
  });

  it("hold for every source file of the page", () => {
    const found = files(DASHBOARD_WEB).flatMap((f) => violations(readFileSync(f, "utf8")).map((v) => `${f}: ${v}`));
    expect(found).toEqual([]);
    // The page's HTML has no inline script: only the bundled module.
    const html = readFileSync(join(DASHBOARD_WEB, "index.html"), "utf8");
    expect(html.match(/<script[^>]*>([^<]*)<\/script>/g)?.every((s) => /src=/.test(s) && />\s*<\/script>/.test(s))).toBe(true);
  });
});
