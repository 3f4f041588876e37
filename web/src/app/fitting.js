// Fitting: load a trace CSV, pick a model with its parameters and bounds, start,
// watch, read the summary, see one cell's fit and one parameter's histogram.
import { getJson, postJson, showImage } from "./api.js";
import { jobCard } from "./jobs.js";
import { clear, facts, fmt, guarded, h, notice } from "./ui.js";

const FITTING = "/api/analysis/fitting";

export async function mount(container, _args, query) {
  const stops = [];
  // Trace files are picked from finished workflow jobs (grouped by job) or from every
  // CSV under the data roots (a list to choose from, typing stays possible); cells
  // marked bad are left out unless included.
  const jobTraces = h("div.trace-groups", { id: "job-traces" }, h("p.hint", "Looking for finished workflow jobs…"));
  const csvChoices = h("datalist", { id: "csv-choices" });
  const csvInput = h("input", { type: "text", id: "csv-path", size: 60, value: query.get("csv") || "", placeholder: "Pick a trace CSV or type its path", required: true, list: "csv-choices" });
  const includeBad = h("input", { type: "checkbox", id: "include-bad-cells" });
  const loadMessages = h("div.messages");
  const traceInfo = h("div", { id: "trace-info" });
  const modelSelect = h("select", { id: "model-select" });
  const paramsTable = h("table.params", { id: "model-params" });
  const modelInfo = h("p.hint");
  const startMessages = h("div.messages");
  const jobs = h("div", { id: "fitting-jobs" });
  const results = h("div", { id: "fitting-results" });
  container.append(
    h("div.page-head", h("h1", "Fitting"), h("p.hint", "Fit a kinetic model to every cell's trace.")),
    h(
      "section.panel",
      h("h2", "Traces"),
      h("form.path-bar", { onsubmit: (event) => { event.preventDefault(); loadTraces(); } }, h("label", "Trace CSV ", csvInput, csvChoices), h("label", includeBad, "include cells marked bad"), h("button", { type: "submit", id: "load-traces" }, "Load")),
      loadMessages,
      traceInfo,
      h("h3", "Traces of finished workflow jobs"),
      jobTraces,
    ),
    h(
      "section.panel",
      h("h2", "Model"),
      h("div.path-bar", h("label", "Model ", modelSelect)),
      modelInfo,
      paramsTable,
      h("button.primary", { type: "button", id: "start-fitting", onclick: () => start() }, "Start fitting"),
      startMessages,
    ),
    h("section.panel", h("h2", "Jobs"), jobs),
    h("section.panel", { id: "fitting-results-panel" }, h("h2", "Results"), results),
  );

  async function loadTraces() {
    await guarded(loadMessages, async () => {
      const data = await postJson("/api/analysis/load-traces", { csv_path: csvInput.value.trim(), include_bad_cells: includeBad.checked });
      clear(
        traceInfo,
        facts([
          ["Cells", fmt.number(data.n_cells)],
          ["Time points", fmt.number(data.n_timepoints)],
          ["FOVs", fmt.number(data.n_fovs)],
          ["Time", data.time_range ? `${fmt.number(data.time_range.min)} – ${fmt.number(data.time_range.max)} ${data.time_units || ""}` : null],
          ["Values", data.value_range ? `${fmt.number(data.value_range.min)} – ${fmt.number(data.value_range.max)}` : null],
          ["Columns", (data.columns || []).join(", ")],
        ]),
      );
    });
  }

  // ---- models: parameters with initial values and bounds
  let models = [];
  const inputs = new Map();
  function showModel() {
    const model = models.find((m) => m.name === modelSelect.value);
    inputs.clear();
    if (!model) return;
    modelInfo.textContent = `${model.description || ""} ${model.equation ? "— " + model.equation : ""}`;
    const number = (value) => h("input", { type: "number", step: "any", value });
    clear(
      paramsTable,
      h("thead", h("tr", h("th", "Parameter"), h("th", "Initial"), h("th", "Min"), h("th", "Max"))),
      h(
        "tbody",
        ...model.parameters.map((p) => {
          const row = { initial: number(p.default), min: number(p.bounds[0]), max: number(p.bounds[1]) };
          inputs.set(p.name, row);
          return h("tr", { dataset: { parameter: p.name }, title: p.description }, h("td", p.symbol && p.symbol !== p.name ? `${p.name} (${p.symbol})` : p.name, p.fixed ? " (fixed)" : ""), h("td", row.initial), h("td", row.min), h("td", row.max));
        }),
      ),
    );
  }
  modelSelect.addEventListener("change", showModel);

  async function start() {
    await guarded(startMessages, async () => {
      const model_params = {};
      const model_bounds = {};
      for (const [name, row] of inputs) {
        model_params[name] = parseFloat(row.initial.value);
        model_bounds[name] = [parseFloat(row.min.value), parseFloat(row.max.value)];
      }
      const body = { csv_path: csvInput.value.trim(), model_type: modelSelect.value, model_params, model_bounds, options: { include_bad_cells: includeBad.checked } };
      const started = await postJson(`${FITTING}/start`, body);
      watch(started.job_id, `${body.model_type} on ${body.csv_path.split("/").pop()}`);
    });
  }

  function watch(jobId, title) {
    const card = jobCard(FITTING, jobId, title, (final) => {
      if (final.status === "completed") showResults(jobId);
    });
    stops.push(card.stop);
    jobs.prepend(card.element);
  }

  async function showResults(jobId) {
    await guarded(results, async () => {
      const data = await getJson(`${FITTING}/results/${jobId}`);
      const s = data.summary || {};
      const q = data.quality_distribution || {};
      const cellInput = h("input", { type: "number", min: 0, value: 0, id: "plot-cell" });
      const fovInput = h("input", { type: "number", min: 0, value: 0, id: "plot-fov" });
      const paramSelect = h("select", { id: "histogram-parameter" }, ...(data.parameters || []).map((p) => h("option", { value: p.name }, p.name)));
      const plot = h("img", { alt: "Cell fit", id: "fit-plot" });
      const histogram = h("img", { alt: "Parameter histogram", id: "histogram" });
      const plotMessages = h("div.messages");
      const drawPlot = () =>
        guarded(plotMessages, () => showImage(plot, `${FITTING}/plot/${jobId}?cell=${cellInput.value}&fov=${fovInput.value}`));
      const drawHistogram = () =>
        guarded(plotMessages, () => showImage(histogram, `${FITTING}/histogram/${jobId}?parameter=${encodeURIComponent(paramSelect.value)}&bins=30`));
      cellInput.addEventListener("change", drawPlot);
      fovInput.addEventListener("change", drawPlot);
      paramSelect.addEventListener("change", drawHistogram);
      clear(
        results,
        facts([
          ["Model", data.model_type],
          ["Cells", fmt.number(s.total_cells)],
          ["Successful fits", fmt.number(s.successful_fits)],
          ["Failed fits", fmt.number(s.failed_fits)],
          ["Mean R²", `${fmt.number(s.mean_r_squared)} ± ${fmt.number(s.std_r_squared)}`],
          ["Quality (R²)", Object.entries(q).map(([k, v]) => `${k.replace("_r2", "")}: ${v}`).join(" · ")],
          ["Results file", data.results_file],
        ]),
        h("a.button", { href: `#/explorer?jobs=${encodeURIComponent(jobId)}`, id: "explore-results" }, "Explore these results"),
        h(
          "table",
          h("thead", h("tr", h("th", "Parameter"), h("th", "Mean"), h("th", "SD"), h("th", "Min"), h("th", "Max"))),
          h("tbody", ...(data.parameters || []).map((p) => h("tr", h("td", p.name), h("td", fmt.number(p.mean)), h("td", fmt.number(p.std)), h("td", fmt.number(p.min)), h("td", fmt.number(p.max))))),
        ),
        h("div.path-bar", h("label", "Cell ", cellInput), h("label", "FOV ", fovInput), h("label", "Histogram of ", paramSelect)),
        plotMessages,
        h("div.plots", plot, histogram),
      );
      await drawPlot();
      await drawHistogram();
    });
  }

  // Fits still running (started before this page was opened) are watched too.
  getJson("/jobs")
    .then(({ active_jobs }) =>
      active_jobs.filter((job) => job.service === "analysis").forEach((job) => watch(job.job_id, job.type || "fitting")),
    )
    .catch(() => {});

  try {
    models = await getJson("/api/analysis/models");
    clear(modelSelect, ...models.map((m) => h("option", { value: m.name }, m.name)));
    // A real kinetic model by default, not the test model `trivial`.
    if (models.some((m) => m.name === "maturation")) modelSelect.value = "maturation";
    showModel();
  } catch (error) {
    notice(startMessages, error);
  }
  if (csvInput.value) loadTraces();
  listTraceFiles(csvChoices);
  listJobTraces(jobTraces, (path) => {
    csvInput.value = path;
    loadTraces();
  });
  return () => stops.forEach((stop) => stop());
}

// Trace CSVs under the data roots (per-FOV traces, merged samples, tidy features),
// newest folders' files included; fitting results are not traces.
async function listTraceFiles(datalist) {
  try {
    const { roots } = await getJson("/api/processing/data-roots");
    const found = [];
    for (const root of roots) {
      const answer = await postJson("/api/processing/search-files", { search_path: root, pattern: "**/*.csv", limit: 2000 });
      found.push(...answer.files.map((file) => file.path).filter((path) => !/_fitted_/.test(path)));
    }
    clear(datalist, ...found.map((path) => h("option", { value: path }, path.split("/").slice(-2).join("/"))));
  } catch {
    // The list is a convenience: typing the path still works.
  }
}

// Each completed workflow job's traces, and the merged sample files written inside its
// output folder, as one group per job (newest first); merged files found elsewhere
// under the data roots form a group of their own. `pick(path)` receives a click.
async function listJobTraces(target, pick) {
  try {
    const [{ jobs }, { roots }] = await Promise.all([getJson("/api/processing/workflow/jobs?status=completed&limit=50"), getJson("/api/processing/data-roots")]);
    const merged = [];
    for (const root of roots) {
      const answer = await postJson("/api/processing/search-files", { search_path: root, pattern: "**/*_merged.csv", limit: 2000 });
      merged.push(...answer.files.map((file) => file.path));
    }
    const groups = [];
    for (const job of jobs) {
      const results = await getJson(`/api/processing/workflow/results/${job.job_id}`).catch(() => null);
      if (!results) continue; // its output folder may be gone
      const inside = (path) => path.startsWith(`${results.output_dir}/`);
      const files = [...results.traces, ...merged.filter(inside)];
      merged.splice(0, merged.length, ...merged.filter((path) => !inside(path)));
      groups.push(traceGroup(`Job ${job.job_id}`, `${results.output_dir} · ${fmt.date(job.finished_at)}`, files, pick, job.job_id));
    }
    if (merged.length) groups.push(traceGroup("Merged samples", "elsewhere under the data roots", merged, pick, ""));
    clear(target, ...(groups.length ? groups : [h("p.hint", "No finished workflow job yet: pick a CSV from the list above or type its path.")]));
  } catch (error) {
    notice(target, error);
  }
}

function traceGroup(title, detail, files, pick, jobId) {
  return h(
    "div.trace-group",
    { dataset: { jobId } },
    h("div", h("strong", title), " ", h("span.hint", detail)),
    h(
      "ul.files",
      ...files.map((path) =>
        h("li", { title: path, dataset: { path }, onclick: () => pick(path) }, h("span", path.split("/").slice(-2).join("/")), h("span.size", /_merged\.csv$/.test(path) ? "merged sample" : "traces")),
      ),
    ),
  );
}
