// The cell inspector: the FOV's frames with every cell outlined (click a cell to
// open it), a trace CSV's cells (sortable, good/bad), one cell's trace, its crops
// over time and its lineage; quality marks written back into the CSV (one cell,
// the ticked ones, or by rule). Keys: ↓/j next cell, ↑/k previous, b mark bad,
// g mark good.
import { getJson, postJson, request, showImage } from "./api.js";
import { traceChart } from "./charts.js";
import { clear, fmt, guarded, h, notice } from "./ui.js";

const CELLS = "/api/processing/cells";

export async function mount(container, _args, query) {
  const pathInput = h("input", { type: "text", id: "traces-path", size: 70, value: query.get("traces") || "", placeholder: "…/fov_000/…_traces.csv", required: true });
  const messages = h("div.messages");
  const summary = h("p.hint", { id: "cells-summary" });
  const table = h("table.cells", { id: "cells-table" });
  const detail = h("section.panel", { id: "cell-detail" }, h("p.hint", "Pick a cell: click a row, or step with ↓/↑ (j/k); b marks it bad, g good."));
  const frameImage = h("img", { alt: "The FOV's cells; click one to open it", id: "cells-frame", title: "Click a cell to open it" });
  const frameSlider = h("input", { type: "range", min: 0, max: 0, value: 0, id: "cells-frame-t" });
  const frameLabel = h("output", "frame 0");
  const frameChannel = h("select", { id: "cells-frame-channel" });
  const minFrames = h("input", { type: "number", min: 1, id: "rule-min-frames", placeholder: "frames" });
  const border = h("input", { type: "number", min: 0, id: "rule-border", placeholder: "px" });
  container.append(
    h("div.page-head", h("h1", "Cells"), h("p.hint", "Check every cell before fitting: cells marked bad are left out of merge and fitting; marking them good undoes it.")),
    h("form.path-bar", { onsubmit: (event) => { event.preventDefault(); load(); } }, h("label", "Trace CSV ", pathInput), h("button", { type: "submit", id: "load-cells" }, "Load")),
    messages,
    h(
      "div.inspector",
      h(
        "section.panel",
        h("div.frame-pick", frameImage, h("div.path-bar", h("label", "Frame ", frameSlider), frameLabel, h("label", "Channel ", frameChannel))),
        summary,
        h(
          "div.path-bar",
          h("button", { type: "button", id: "mark-selected-bad", onclick: () => markTicked(false) }, "Mark ticked bad"),
          h("button", { type: "button", id: "mark-selected-good", onclick: () => markTicked(true) }, "Mark ticked good"),
        ),
        h(
          "form.path-bar",
          { id: "rule-form", onsubmit: (event) => { event.preventDefault(); markByRule(); } },
          h("label", "Mark bad: shorter than ", minFrames),
          h("label", "or within ", border, " of the border"),
          h("button", { type: "submit", id: "apply-rule" }, "Apply rule"),
        ),
        h("div.table-scroll", table),
      ),
      detail,
    ),
  );

  let page = null; // the last listing
  let sortBy = "fov";
  let descending = false;
  let current = -1; // index of the selected cell in page.cells
  const ticked = new Set();
  const key = (cell) => `${cell.fov ?? 0}:${cell.cell ?? 0}`;

  async function load() {
    await guarded(messages, async () => {
      const params = new URLSearchParams({ traces_path: pathInput.value.trim(), sort_by: sortBy, descending, limit: 2000 });
      const fresh = !page || page.traces_path !== pathInput.value.trim();
      page = await getJson(`${CELLS}?${params}`);
      history.replaceState(null, "", `#/cells?traces=${encodeURIComponent(pathInput.value.trim())}`);
      drawTable();
      if (fresh) {
        const channels = [...new Set((page.features || []).map((f) => Number(f.match(/_ch_(\d+)$/)?.[1])).filter(Number.isFinite))];
        clear(frameChannel, ...channels.map((c) => h("option", { value: c }, `channel ${c}`)));
        drawFrame();
      }
      if (current >= 0) select(Math.min(current, page.cells.length - 1));
    });
  }

  function drawTable() {
    const features = page.features || [];
    summary.textContent = `${fmt.number(page.all_cells ?? 0)} cells, ${fmt.number(page.good_cells ?? 0)} good — ${page.traces_path}`;
    const header = (label, column) =>
      h("th", { class: column === sortBy ? (descending ? "sorted desc" : "sorted") : "", dataset: { sort: column }, title: "Sort", onclick: () => sort(column) }, label);
    clear(
      table,
      h("thead", h("tr", h("th", ""), header("FOV", "fov"), header("Cell", "cell"), header("Good", "good"), header("Frames", "n_frames"), header("Parent", "parent"), ...features.map((f) => header(f, f)))),
      h(
        "tbody",
        ...page.cells.map((cell, index) =>
          h(
            "tr",
            { class: cell.good ? "" : "bad", dataset: { index, cell: key(cell) }, onclick: (event) => event.target.type !== "checkbox" && select(index) },
            h("td", h("input", { type: "checkbox", checked: ticked.has(key(cell)), onchange: (event) => (event.target.checked ? ticked.add(key(cell)) : ticked.delete(key(cell))) })),
            h("td", String(cell.fov ?? 0)),
            h("td", String(cell.cell ?? 0)),
            h("td", cell.good ? "yes" : "bad"),
            h("td", `${cell.n_frames ?? 0} (${cell.first_frame ?? 0}–${cell.last_frame ?? 0})`),
            h("td", cell.parent >= 0 ? String(cell.parent) : "—"),
            ...features.map((f) => h("td.num", fmt.number(cell.feature_means?.[f]))),
          ),
        ),
      ),
    );
  }

  // The FOV's frame: outlines and ids over the copied frames; a click asks which
  // cell is under it (the tracking labels decide) and opens it.
  let frameSize = null;
  const drawFrame = () =>
    guarded(messages, async () => {
      const params = new URLSearchParams({ traces_path: page.traces_path, t: frameSlider.value, channel: frameChannel.value || 0, max_size: 640 });
      const response = await request(`${CELLS}/frame?${params}`);
      frameSize = { width: Number(response.headers.get("X-Frame-Width")), height: Number(response.headers.get("X-Frame-Height")) };
      frameSlider.max = Math.max(0, Number(response.headers.get("X-Frame-Count")) - 1);
      frameLabel.textContent = `frame ${frameSlider.value}`;
      if (frameImage.dataset.objectUrl) URL.revokeObjectURL(frameImage.dataset.objectUrl);
      frameImage.dataset.objectUrl = URL.createObjectURL(await response.blob());
      frameImage.src = frameImage.dataset.objectUrl;
    });
  frameSlider.addEventListener("input", drawFrame);
  frameChannel.addEventListener("change", drawFrame);
  frameImage.addEventListener("click", (event) =>
    guarded(messages, async () => {
      if (!frameSize) return;
      const box = frameImage.getBoundingClientRect();
      const x = Math.floor(((event.clientX - box.left) / box.width) * frameSize.width);
      const y = Math.floor(((event.clientY - box.top) / box.height) * frameSize.height);
      const found = await getJson(`${CELLS}/at?${new URLSearchParams({ traces_path: page.traces_path, t: frameSlider.value, x, y })}`);
      if (found.found) selectCell(found.fov ?? 0, found.cell ?? 0);
      else notice(messages, "No cell there", "info");
    }),
  );

  function sort(column) {
    descending = column === sortBy ? !descending : column !== "fov" && column !== "cell";
    sortBy = column;
    current = -1;
    load();
  }

  async function mark(cells, rule) {
    await guarded(messages, async () => {
      const body = { traces_path: page.traces_path, cells };
      if (rule) body.rule = rule;
      const answer = await postJson(`${CELLS}/quality`, body);
      await load();
      notice(messages, `${answer.cells_changed ?? 0} cell(s) changed; ${answer.good_cells ?? 0} of ${answer.total_cells ?? 0} are good`, "success");
    });
  }

  function markTicked(good) {
    const cells = [...ticked].map((text) => {
      const [fov, cell] = text.split(":").map(Number);
      return { fov, cell, good };
    });
    if (!cells.length) return notice(messages, "Tick cells first", "info");
    ticked.clear();
    return mark(cells);
  }

  function markByRule() {
    const rule = {};
    if (minFrames.value) rule.min_frames = Number(minFrames.value);
    if (border.value) rule.border_margin = Number(border.value);
    if (!Object.keys(rule).length) return notice(messages, "Give a track length or a border distance", "info");
    return mark([], rule);
  }

  function select(index) {
    if (!page || index < 0 || index >= page.cells.length) return;
    current = index;
    for (const row of table.querySelectorAll("tr.selected")) row.classList.remove("selected");
    const row = table.querySelector(`tr[data-index="${index}"]`);
    row?.classList.add("selected");
    row?.scrollIntoView({ block: "nearest" });
    showCell(page.cells[index]);
  }

  function selectCell(fov, cell) {
    const index = page.cells.findIndex((c) => (c.fov ?? 0) === fov && (c.cell ?? 0) === cell);
    if (index >= 0) select(index);
  }

  let shown = 0;
  async function showCell(cell) {
    const ticket = ++shown;
    const fov = cell.fov ?? 0;
    const id = cell.cell ?? 0;
    const detailMessages = h("div.messages");
    await guarded(detailMessages, async () => {
      const params = new URLSearchParams({ traces_path: page.traces_path, fov, cell: id });
      const data = await getJson(`${CELLS}/detail?${params}`);
      if (ticket !== shown) return;
      const series = Object.fromEntries(data.series.map((s) => [s.name, s.values]));
      const features = page.features || [];
      const channels = [...new Set(features.map((f) => Number(f.match(/_ch_(\d+)$/)?.[1])).filter(Number.isFinite))];
      const featureSelect = h("select", { id: "trace-feature" }, ...features.map((f) => h("option", { value: f }, f)));
      const channelSelect = h("select", { id: "strip-channel" }, ...channels.map((c) => h("option", { value: c }, `channel ${c}`)));
      const canvas = h("canvas", { id: "trace-chart" });
      const strip = h("img", { alt: "The cell over time", id: "cell-strip" });
      const good = data.cell.good;
      const lineage = [
        data.cell.parent >= 0 ? h("button.link", { type: "button", onclick: () => selectCell(fov, data.cell.parent) }, `parent ${data.cell.parent}`) : h("span.hint", "no parent"),
        ...(data.cell.daughters || []).map((d) => h("button.link", { type: "button", onclick: () => selectCell(fov, d) }, `daughter ${d}`)),
      ];
      clear(
        detail,
        h("div.page-head", h("h2", `FOV ${fov}, cell ${id}`), h("span", { class: `badge ${good ? "good" : "bad"}`, id: "cell-good" }, good ? "good" : "bad")),
        h(
          "div.path-bar",
          h("button", { type: "button", id: "mark-bad", disabled: !good, onclick: () => mark([{ fov, cell: id, good: false }]) }, "Mark bad (b)"),
          h("button", { type: "button", id: "mark-good", disabled: good, onclick: () => mark([{ fov, cell: id, good: true }]) }, "Mark good (g)"),
          h("span.lineage", "Lineage: ", ...lineage),
        ),
        h("p.hint", `Frames ${data.cell.first_frame ?? 0}–${data.cell.last_frame ?? 0} (${data.cell.n_frames} rows)`),
        h("div.path-bar", h("label", "Trace of ", featureSelect), h("label", "Crops of ", channelSelect)),
        h("div.chart-box", canvas),
        strip,
        detailMessages,
      );
      const drawTrace = () => traceChart(canvas, series.time, [{ label: featureSelect.value, values: series[featureSelect.value] }], { xTitle: "time", yTitle: featureSelect.value });
      const drawStrip = () =>
        guarded(detailMessages, () => showImage(strip, `${CELLS}/strip?${new URLSearchParams({ traces_path: page.traces_path, fov, cell: id, channel: channelSelect.value, n_crops: 8 })}`));
      featureSelect.addEventListener("change", drawTrace);
      channelSelect.addEventListener("change", drawStrip);
      // Intensity traces first: what a fit uses.
      const preferred = features.find((f) => f.startsWith("intensity_total")) || features[0];
      if (preferred) featureSelect.value = preferred;
      const fluorescence = channels.find((c) => preferred?.endsWith(`_ch_${c}`));
      if (fluorescence !== undefined) channelSelect.value = fluorescence;
      drawTrace();
      await drawStrip();
    });
    if (ticket === shown && !detail.contains(detailMessages)) detail.append(detailMessages);
  }

  function onKey(event) {
    if (!page || ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName)) return;
    const cell = page.cells[current];
    if (event.key === "ArrowDown" || event.key === "j") select(current + 1);
    else if (event.key === "ArrowUp" || event.key === "k") select(Math.max(0, current - 1));
    else if (event.key === "b" && cell) mark([{ fov: cell.fov ?? 0, cell: cell.cell ?? 0, good: false }]);
    else if (event.key === "g" && cell) mark([{ fov: cell.fov ?? 0, cell: cell.cell ?? 0, good: true }]);
    else return;
    event.preventDefault();
  }
  document.addEventListener("keydown", onKey);

  if (pathInput.value) await load();
  return () => document.removeEventListener("keydown", onKey);
}
