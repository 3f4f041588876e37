// The fitted-results explorer: the cells of one or more fitting jobs (one per
// sample) as a filterable table, a parameter's histogram per sample and a scatter
// of two parameters (interactive, Chart.js), one cell's data and fitted curve, and
// the filtered table as CSV.
import { download, getJson, showImage } from "./api.js";
import { histogramChart, scatterChart } from "./charts.js";
import { clear, fmt, guarded, h } from "./ui.js";

const FITTING = "/api/analysis/fitting";
const SHOWN_ROWS = 200;

export async function mount(container, _args, query) {
  const jobsInput = h("input", { type: "text", id: "explorer-jobs", size: 80, value: query.get("jobs") || "", placeholder: "fitting job ids, comma-separated (one per sample)", required: true });
  const minR2 = h("input", { type: "number", id: "filter-r2", min: 0, max: 1, step: 0.05, placeholder: "0.9" });
  const goodOnly = h("input", { type: "checkbox", id: "filter-good" });
  const successOnly = h("input", { type: "checkbox", id: "filter-success", checked: true });
  const sampleSelect = h("select", { id: "filter-sample" }, h("option", { value: "" }, "all samples"));
  const parameter = h("select", { id: "histogram-parameter" });
  const xSelect = h("select", { id: "scatter-x" });
  const ySelect = h("select", { id: "scatter-y" });
  const messages = h("div.messages");
  const summary = h("p.hint", { id: "explorer-summary" });
  const table = h("table.cells", { id: "fitted-table" });
  const histogram = h("canvas", { id: "histogram-chart" });
  const scatter = h("canvas", { id: "scatter-chart" });
  const cellPlot = h("img", { alt: "One cell's fit", id: "explorer-cell-plot" });
  const cellTitle = h("p.hint", { id: "explorer-cell" }, "Click a row or a point to see that cell's data and fitted curve.");

  let data = null;
  const ids = () => jobsInput.value.split(/[\s,]+/).filter(Boolean);

  function params(extra = {}) {
    const p = new URLSearchParams();
    for (const id of ids()) p.append("job_ids", id);
    if (minR2.value !== "") p.set("min_r_squared", minR2.value);
    if (goodOnly.checked) p.set("good_only", "true");
    if (successOnly.checked) p.set("successful_only", "true");
    if (sampleSelect.value) p.set("sample", sampleSelect.value);
    for (const [k, v] of Object.entries(extra)) p.set(k, v);
    return p;
  }

  async function load() {
    await guarded(messages, async () => {
      data = await getJson(`${FITTING}/cells?${params({ limit: 10000 })}`);
      history.replaceState(null, "", `#/explorer?jobs=${encodeURIComponent(ids().join(","))}`);
      const names = data.parameter_names || [];
      for (const [select, chosen] of [[parameter, 0], [xSelect, 0], [ySelect, 1]]) {
        const keep = select.value;
        clear(select, ...names.map((n) => h("option", { value: n }, n)));
        select.value = names.includes(keep) ? keep : names[Math.min(chosen, names.length - 1)];
      }
      const keepSample = sampleSelect.value;
      clear(sampleSelect, h("option", { value: "" }, "all samples"), ...(data.samples || []).map((s) => h("option", { value: s.name }, s.name)));
      sampleSelect.value = keepSample;
      summary.textContent = `${fmt.number(data.total_cells ?? 0)} cells (${data.model_type}) — ${(data.samples || []).map((s) => `${s.name}: ${s.n_cells ?? 0}`).join(", ")}`;
      drawTable();
      drawPlots();
    });
  }

  function drawTable() {
    const names = data.parameter_names || [];
    const rows = (data.cells || []).slice(0, SHOWN_ROWS);
    clear(
      table,
      h("thead", h("tr", h("th", "Sample"), h("th", "FOV"), h("th", "Cell"), h("th", "Fit"), h("th", "R²"), h("th", "Good"), ...names.map((n) => h("th", n)))),
      h(
        "tbody",
        ...rows.map((c) =>
          h(
            "tr",
            { class: c.good === false || !c.good ? "bad" : "", onclick: () => showCell(c) },
            h("td", c.sample),
            h("td", String(c.fov ?? 0)),
            h("td", String(c.cell ?? 0)),
            h("td", c.success ? "ok" : "failed"),
            h("td.num", fmt.number(c.r_squared ?? 0)),
            h("td", c.good ? "yes" : "bad"),
            ...names.map((n) => h("td.num", fmt.number(c.parameters?.[n]))),
          ),
        ),
      ),
    );
    if ((data.cells || []).length > SHOWN_ROWS) table.append(h("caption", `First ${SHOWN_ROWS} of ${data.cells.length} rows; export the CSV for all.`));
  }

  function bySample(pick) {
    const groups = Object.fromEntries((data.samples || []).filter((s) => !sampleSelect.value || s.name === sampleSelect.value).map((s) => [s.name, []]));
    for (const c of data.cells || []) if (c.success && groups[c.sample]) groups[c.sample].push(pick(c));
    return groups;
  }

  function drawPlots() {
    guarded(messages, async () => {
      histogramChart(histogram, bySample((c) => c.parameters?.[parameter.value]), parameter.value);
      const points = bySample((c) => ({ x: c.parameters?.[xSelect.value], y: c.parameters?.[ySelect.value], fov: c.fov ?? 0, cell: c.cell ?? 0, job: c.job_id, sample: c.sample }));
      for (const name of Object.keys(points)) points[name] = points[name].filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
      scatterChart(scatter, points, xSelect.value, ySelect.value, (p) => showCell({ job_id: p.job, fov: p.fov, cell: p.cell, sample: p.sample }));
    });
  }

  async function showCell(c) {
    cellTitle.textContent = `${c.sample}: FOV ${c.fov ?? 0}, cell ${c.cell ?? 0}`;
    await guarded(messages, () => showImage(cellPlot, `${FITTING}/plot/${c.job_id}?fov=${c.fov ?? 0}&cell=${c.cell ?? 0}`));
  }

  const exportCsv = () => guarded(messages, () => download(`${FITTING}/cells.csv?${params()}`, "fitted_cells.csv"));

  for (const input of [minR2, goodOnly, successOnly, sampleSelect]) input.addEventListener("change", load);
  for (const select of [parameter, xSelect, ySelect]) select.addEventListener("change", drawPlots);

  container.append(
    h("div.page-head", h("h1", "Fitted results"), h("p.hint", "Compare fitted parameters across cells and samples (one fitting job per sample).")),
    h("form.path-bar", { onsubmit: (event) => { event.preventDefault(); load(); } }, h("label", "Jobs ", jobsInput), h("button", { type: "submit", id: "load-explorer" }, "Load")),
    h(
      "div.path-bar",
      h("label", "R² at least ", minR2),
      h("label", goodOnly, "good cells only"),
      h("label", successOnly, "successful fits only"),
      h("label", "Sample ", sampleSelect),
      h("button", { type: "button", id: "export-csv", onclick: exportCsv }, "Export CSV"),
    ),
    messages,
    summary,
    h(
      "div.explorer-plots",
      h("section.panel", h("div.path-bar", h("label", "Histogram of ", parameter)), h("div.chart-box", histogram)),
      h("section.panel", h("div.path-bar", h("label", "Scatter ", xSelect), h("label", " against ", ySelect)), h("div.chart-box", scatter)),
      h("section.panel", cellTitle, cellPlot),
    ),
    h("section.panel", h("div.table-scroll", table)),
  );
  if (jobsInput.value) await load();
}
