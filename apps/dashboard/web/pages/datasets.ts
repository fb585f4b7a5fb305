/**
 * Datasets: each dataset's versions (content hash, import date, images), and for the chosen version its
 * composition by diagnosis × modality and section (the paper's Table 2), by split, and the class balance.
 */
import { get } from "../api.ts";
import { chartBox, draw, PALETTE, tooltip } from "../charts.ts";
import { h, replace, section, table } from "../dom.ts";
import { date, pct } from "../format.ts";
import type { Page, PageContext } from "../page.ts";

interface Summary {
  imageCount: number; patients: number; origins: number; byDiagnosis: Record<string, number>; bySplit: Record<string, number>;
  table: Record<string, Record<string, Record<string, number>>>; splitTable: Record<string, Record<string, Record<string, number>>>;
  excluded?: unknown[];
}
interface Version { id: string; contentHash: string; imageCount: number; createdAt: string; summary: Summary }
interface Dataset { id: string; name: string; createdAt: string; versionCount: number; versions: Version[] }
interface Listed { id: string; name: string; createdAt: string; versionCount: number; latestVersion: { imageCount: number; contentHash: string; createdAt: string } | null }

export function datasetsPage(ctx: PageContext, chosen?: string): Page {
  return {
    async render() {
      const { datasets } = await get<{ datasets: Listed[] }>("/v1/datasets");
      const list = table(
        ["Dataset", "Versions", "Images (latest)", "Latest content hash", "Imported"],
        datasets.map((d) => [
          h("a", { href: `#/datasets/${encodeURIComponent(d.id)}`, "data-dataset": d.id }, d.name),
          String(d.versionCount),
          d.latestVersion ? String(d.latestVersion.imageCount) : "–",
          d.latestVersion ? h("code", null, d.latestVersion.contentHash.slice(0, 16)) : "–",
          date(d.latestVersion?.createdAt ?? d.createdAt),
        ]),
        { "data-table": "datasets" },
      );
      const detail = h("div");
      replace(ctx.main, h("h1", null, "Datasets"), section("All datasets", datasets.length ? list : h("p", { class: "muted" }, "No datasets yet: import one with `hypersweep datasets import`.")), detail);
      const pick = datasets.find((d) => d.id === chosen || d.name === chosen) ?? datasets[0];
      if (pick) await renderDataset(detail, pick.id);
    },
  };
}

async function renderDataset(box: HTMLElement, id: string): Promise<void> {
  const d = await get<Dataset>(`/v1/datasets/${encodeURIComponent(id)}`);
  const v = d.versions[0];
  const versions = table(
    ["Version", "Content hash", "Images", "Imported"],
    d.versions.map((x, i) => [i === 0 ? "latest" : String(d.versions.length - i), h("code", { "data-hash": x.contentHash }, x.contentHash), String(x.imageCount), date(x.createdAt)]),
    { "data-table": "versions" },
  );
  if (!v) {
    replace(box, section(d.name, versions));
    return;
  }
  const s = v.summary;
  const modalities = Object.keys(s.table[Object.keys(s.table)[0]] ?? {});
  const diagnoses = Object.keys(s.table).filter((dx) => modalities.some((m) => s.table[dx][m]?.total));
  const sectionsOf = (m: string) => Object.keys(s.table[diagnoses[0]]?.[m] ?? {}).filter((k) => k !== "total" && diagnoses.some((dx) => s.table[dx][m][k]));
  const compHeaders = ["Diagnosis", ...modalities.flatMap((m) => [...sectionsOf(m).map((sec) => `${m} · ${sec}`), `${m} total`])];
  const composition = table(
    compHeaders,
    diagnoses.map((dx) => [dx, ...modalities.flatMap((m) => [...sectionsOf(m).map((sec) => String(s.table[dx][m][sec] ?? 0)), String(s.table[dx][m].total ?? 0)])]),
    { "data-table": "composition" },
  );
  const splits = Object.keys(s.bySplit);
  const splitRows = modalities.flatMap((m) =>
    diagnoses.filter((dx) => splits.some((sp) => s.splitTable[m]?.[dx]?.[sp])).map((dx) => [m, dx, ...splits.map((sp) => String(s.splitTable[m][dx][sp] ?? 0))]),
  );
  const bySplit = table(["Modality", "Diagnosis", ...splits], [...splitRows, ["all", "all", ...splits.map((sp) => `${s.bySplit[sp]} (${pct(s.bySplit[sp] / Math.max(1, s.imageCount))})`)]], { "data-table": "splits" });
  const balance = chartBox("class-balance", 80 + diagnoses.length * 34, "images per diagnosis and split");
  replace(
    box,
    h("h2", { "data-field": "dataset-name" }, d.name),
    section("Versions", versions),
    section(`Composition by diagnosis × modality and section (latest: ${s.imageCount} images, ${s.patients} patients, ${s.origins} sources)`, composition),
    h("div", { class: "grid2" }, section("By split (patients never cross splits)", bySplit), section("Class balance", balance)),
  );
  draw(balance, {
    legend: { top: 0 },
    tooltip: tooltip({ trigger: "item" }),
    grid: { left: 110, right: 20, top: 30, bottom: 30 },
    xAxis: { type: "value", name: "images" },
    yAxis: { type: "category", data: diagnoses, axisLabel: { width: 100, overflow: "truncate" } },
    series: splits.map((sp, i) => ({
      name: sp,
      type: "bar",
      stack: "split",
      color: PALETTE[i % PALETTE.length],
      data: diagnoses.map((dx) => modalities.reduce((n, m) => n + (s.splitTable[m]?.[dx]?.[sp] ?? 0), 0)),
    })),
  });
}
