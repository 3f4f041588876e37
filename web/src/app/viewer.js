// The slide viewer: OpenSeadragon on the slide's Deep Zoom pyramid, with the
// viewport's nuclei, live HoVerNet analysis of a drawn box, the slide's
// analysis boxes, ROI statistics and GeoJSON export.
import { authHeaders, download, events, getJson, postJson, request, showImage } from "./api.js";
import { jobCard } from "./jobs.js";
import { CELL_TYPES, SlideOverlay, typeColor } from "./overlay.js";
import { clear, confirmDialog, debounce, facts, fmt, guarded, h, notice, progressBar } from "./ui.js";

export async function mount(container, [slideId]) {
  const OSD = window.OpenSeadragon;
  const messages = h("div.messages");
  if (!OSD) {
    container.append(h("p.notice.error", "The viewer library is missing: run `make setup` (npm ci in web/)."));
    return null;
  }
  const viewerElement = h("div.osd", { id: "osd" });
  const side = h("aside.side");
  container.append(h("div.viewer-layout", h("div.viewer-main", viewerElement, messages), side));

  let slide;
  try {
    slide = await getJson(`/api/slides/${slideId}`);
  } catch (error) {
    notice(messages, error);
    return null;
  }

  const key = authHeaders();
  const viewer = OSD({
    element: viewerElement,
    prefixUrl: "/vendor/openseadragon/images/",
    tileSources: `/api/slides/${slideId}/dzi`,
    showNavigator: true,
    navigatorPosition: "TOP_RIGHT",
    loadTilesWithAjax: Boolean(key.Authorization),
    ajaxHeaders: key,
    crossOriginPolicy: false,
    maxZoomPixelRatio: 4,
    gestureSettingsMouse: { clickToZoom: false },
  });
  // For tests and curious users: tile load counts.
  const tiles = { loaded: 0, failed: 0 };
  viewer.addHandler("tile-loaded", () => tiles.loaded++);
  viewer.addHandler("tile-load-failed", () => tiles.failed++);
  window.micrographiaViewer = { viewer, tiles };

  const overlay = new SlideOverlay(viewer, slide.mpp);
  const running = new Set(); // AbortControllers of requests to cancel on leave

  // ---- side panel sections
  const infoSection = h("section.panel", h("h2", slide.filename));
  const toolsSection = h("section.panel.tools");
  const analysisSection = h("section.panel", { id: "analysis" }, h("h2", "Analysis"));
  const boxesSection = h("section.panel", { id: "boxes" }, h("h2", "Analysis boxes"));
  const detailSection = h("section.panel", { id: "box-detail", hidden: true });
  const roiSection = h("section.panel", { id: "roi-stats", hidden: true });
  const propsMessages = h("div.messages");
  const propsSection = h("details.panel", h("summary", "Slide properties"), propsMessages);
  side.append(infoSection, toolsSection, analysisSection, boxesSection, detailSection, roiSection, propsSection);

  infoSection.append(
    facts([
      ["Size", `${fmt.number(slide.width_px)} × ${fmt.number(slide.height_px)} px`],
      ["MPP", `${fmt.number(slide.mpp, 4)} µm/px${slide.mpp_assumed ? " (assumed: the file records none)" : ""}`],
      ["Vendor", slide.vendor],
      ["Objective", slide.objective_power ? `${slide.objective_power}×` : null],
      ["Levels", slide.level_count],
    ]),
  );
  const labelFigure = h("figure.label-image");
  infoSection.append(labelFigure);

  // ---- tools: mode, nuclei toggle, legend
  let mode = "pan";
  const modeButtons = {};
  const setMode = (next) => {
    mode = next;
    for (const [name, button] of Object.entries(modeButtons)) button.classList.toggle("active", name === next);
    viewerElement.classList.toggle("drawing", next !== "pan");
  };
  for (const [name, label, title] of [
    ["pan", "Pan", "Pan and zoom"],
    ["analyse", "Analyse box", "Draw a box: HoVerNet segments every nucleus in it"],
    ["roi", "ROI stats", "Draw a rectangle: statistics of the nuclei already found in it"],
  ]) {
    modeButtons[name] = h("button", { type: "button", title, dataset: { mode: name }, onclick: () => setMode(name) }, label);
  }
  const nucleiToggle = h("input", { type: "checkbox", checked: true, id: "show-nuclei" });
  const legend = h("ul.legend");
  const nucleiStatus = h("p.hint", { id: "nuclei-status" });
  toolsSection.append(
    h("div.segmented", ...Object.values(modeButtons)),
    h("label.toggle", nucleiToggle, " Show nuclei"),
    legend,
    nucleiStatus,
  );
  setMode("pan");

  function renderLegend() {
    nucleiStatus.textContent = `${fmt.number(overlay.nuclei.length)} nuclei in view`;
    const counts = new Map();
    for (const nucleus of overlay.nuclei) counts.set(nucleus.cell_type, (counts.get(nucleus.cell_type) || 0) + 1);
    clear(
      legend,
      ...CELL_TYPES.map((type) =>
        h("li", h("span.swatch", { style: `background:${type.color}` }), type.name, h("span.count", fmt.number(counts.get(type.id) || 0))),
      ),
    );
  }
  renderLegend();

  // ---- nuclei of the viewport
  let nucleiRequest = null;
  const viewportRect = () => {
    const rect = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true));
    const x = Math.max(0, Math.floor(rect.x));
    const y = Math.max(0, Math.floor(rect.y));
    const width = Math.min(slide.width_px, Math.ceil(rect.x + rect.width)) - x;
    const height = Math.min(slide.height_px, Math.ceil(rect.y + rect.height)) - y;
    return { x, y, width, height };
  };
  const loadNuclei = debounce(async () => {
    if (!overlay.showNuclei) return;
    const rect = viewportRect();
    if (rect.width <= 0 || rect.height <= 0) return;
    nucleiRequest?.abort();
    nucleiRequest = new AbortController();
    try {
      const answer = await postJson("/api/roi/nuclei", { slide_id: slideId, ...rect, level: 0 }, { signal: nucleiRequest.signal });
      overlay.nuclei = answer.nuclei;
      renderLegend();
      if (answer.truncated) nucleiStatus.textContent += " (the first 50,000)";
      overlay.redraw();
    } catch (error) {
      if (error.name !== "AbortError") nucleiStatus.textContent = error.text || error.message;
    }
  }, 250);
  viewer.addHandler("open", loadNuclei);
  viewer.addHandler("animation-finish", loadNuclei);
  nucleiToggle.addEventListener("change", () => {
    overlay.showNuclei = nucleiToggle.checked;
    overlay.redraw();
    if (overlay.showNuclei) loadNuclei();
  });

  // ---- drawing a rectangle (analysis box or ROI)
  let anchor = null;
  const imagePoint = (position) => viewer.viewport.viewerElementToImageCoordinates(position);
  const clampRect = (a, b) => {
    const x0 = Math.max(0, Math.min(a.x, b.x));
    const y0 = Math.max(0, Math.min(a.y, b.y));
    const x1 = Math.min(slide.width_px, Math.max(a.x, b.x));
    const y1 = Math.min(slide.height_px, Math.max(a.y, b.y));
    return { x: Math.round(x0), y: Math.round(y0), width: Math.round(x1 - x0), height: Math.round(y1 - y0) };
  };
  viewer.addHandler("canvas-press", (event) => {
    if (mode === "pan") return;
    anchor = imagePoint(event.position);
  });
  viewer.addHandler("canvas-drag", (event) => {
    if (mode === "pan" || !anchor) return;
    event.preventDefaultAction = true;
    overlay.draft = clampRect(anchor, imagePoint(event.position));
    overlay.redraw();
  });
  viewer.addHandler("canvas-release", (event) => {
    if (mode === "pan" || !anchor) return;
    const rect = clampRect(anchor, imagePoint(event.position));
    anchor = null;
    overlay.draft = null;
    overlay.redraw();
    if (rect.width < 4 || rect.height < 4) return;
    if (mode === "analyse") analyse(rect);
    else roiStats(rect);
  });

  // ---- live analysis of a box
  const analysisStatus = h("div.messages");
  const progress = progressBar();
  const cancelButton = h("button", { type: "button", id: "cancel-analysis", hidden: true }, "Cancel");
  analysisSection.append(
    h("p.hint", "Choose “Analyse box” and drag over the slide to segment the nuclei there."),
    progress.element,
    cancelButton,
    analysisStatus,
  );
  progress.element.hidden = true;
  let analysis = null;
  cancelButton.addEventListener("click", () => analysis?.abort());

  async function analyse(rect) {
    if (analysis) return notice(analysisStatus, "An analysis is already running: cancel it first.", "info");
    analysis = new AbortController();
    running.add(analysis);
    overlay.roi = null;
    overlay.draft = rect;
    progress.element.hidden = false;
    cancelButton.hidden = false;
    progress.set(null, `Starting: ${rect.width} × ${rect.height} px`);
    clear(analysisStatus);
    let finished = false;
    try {
      for await (const { event, data } of events("/api/inference/viewport-stream", {
        method: "POST",
        json: { slide_id: slideId, ...rect, level: 0 },
        signal: analysis.signal,
      })) {
        if (event === "progress") {
          progress.set(data.total ? data.current / data.total : null, data.message || `${data.percentage ?? 0}%`);
        } else if (event === "complete") {
          finished = true;
          progress.set(1, `${fmt.number(data.count)} nuclei found`);
          overlay.draft = null;
          const known = new Set(overlay.nuclei.map((n) => n.id));
          overlay.nuclei = overlay.nuclei.concat(data.nuclei.filter((n) => !known.has(n.id)));
          renderLegend();
          notice(analysisStatus, `${data.box.label}: ${fmt.number(data.count)} nuclei.`, "success");
          await loadBoxes();
          selectBox(data.box.id, false);
        } else if (event === "error") {
          finished = true;
          notice(analysisStatus, `${data.error || "The analysis failed"} (${data.error_code || "ERROR"})`);
        }
      }
      if (!finished) notice(analysisStatus, "The server closed the analysis before it finished.");
    } catch (error) {
      if (error.name === "AbortError") {
        progress.set(0, "cancelled");
        notice(analysisStatus, "Analysis cancelled.", "info");
      }
      else notice(analysisStatus, error);
    } finally {
      running.delete(analysis);
      analysis = null;
      overlay.draft = null;
      cancelButton.hidden = true;
      overlay.redraw();
    }
  }

  // ---- whole-slide analysis: a job on the server, followed here; it goes on if the page closes
  const wholeSlideJobs = h("div.jobs", { id: "slide-analyses" });
  const wholeSlideButton = h(
    "button",
    { type: "button", id: "analyse-slide", title: "Segment every nucleus of the slide's tissue, region by region" },
    "Analyse whole slide",
  );
  analysisSection.append(wholeSlideButton, wholeSlideJobs);
  const followSlideAnalysis = (jobId, title) => {
    let regionsSeen = -1;
    const card = jobCard(
      "/api/slide-analysis",
      jobId,
      title,
      async (last) => {
        wholeSlideButton.disabled = false;
        await loadBoxes();
        if (last.status === "completed") selectBox(last.box_id, false);
        loadNuclei();
      },
      (status) => {
        // Regions are stored as they complete: show their nuclei as they arrive.
        if (status.progress.regions_done !== regionsSeen) {
          regionsSeen = status.progress.regions_done;
          loadNuclei();
        }
      },
    );
    running.add({ abort: card.stop });
    wholeSlideJobs.prepend(card.element);
  };
  wholeSlideButton.addEventListener("click", () =>
    guarded(analysisStatus, async () => {
      wholeSlideButton.disabled = true;
      try {
        const started = await postJson("/api/slide-analysis/start", { slide_id: slideId });
        notice(analysisStatus, started.message, "info");
        followSlideAnalysis(started.job_id, "Whole slide");
        await loadBoxes();
      } catch (error) {
        wholeSlideButton.disabled = false;
        throw error;
      }
    }),
  );
  guarded(analysisStatus, async () => {
    const answer = await getJson(`/api/slide-analysis/jobs?slide_id=${slideId}&active=true`);
    for (const status of answer.analyses) followSlideAnalysis(status.job_id, "Whole slide");
    if (answer.analyses.length) wholeSlideButton.disabled = true;
  });

  // ---- the slide's boxes
  const boxList = h("ul.box-list", { id: "box-list" });
  const boxMessages = h("div.messages");
  boxesSection.append(boxList, boxMessages);

  async function loadBoxes() {
    try {
      const answer = await getJson(`/api/boxes/${slideId}`);
      overlay.boxes = answer.boxes;
      overlay.redraw();
      clear(
        boxList,
        ...(answer.boxes.length
          ? answer.boxes.map((box) =>
              h(
                "li",
                { dataset: { boxId: box.id }, class: box.id === overlay.selectedBox ? "selected" : "" },
                h("button.link", { type: "button", onclick: () => selectBox(box.id, true) }, box.label),
                h("span.count", `${fmt.number(box.total_nuclei)} nuclei`),
                h("button.small", { type: "button", title: "GeoJSON for QuPath", onclick: () => guarded(boxMessages, () => download(`/api/boxes/${box.id}/geojson`, `${box.label}.geojson`)) }, "GeoJSON"),
                h("button.small.danger", { type: "button", title: "Delete this box and its nuclei", onclick: () => deleteBox(box) }, "Delete"),
              ),
            )
          : [h("li.empty", "No analyses yet.")]),
      );
    } catch (error) {
      notice(boxMessages, error);
    }
  }

  async function deleteBox(box) {
    if (!(await confirmDialog(`Delete “${box.label}” and its ${fmt.number(box.total_nuclei)} nuclei?`))) return;
    await guarded(boxMessages, async () => {
      await request(`/api/boxes/${box.id}`, { method: "DELETE" });
      if (overlay.selectedBox === box.id) {
        overlay.selectedBox = null;
        detailSection.hidden = true;
      }
      await loadBoxes();
      loadNuclei();
    });
  }

  async function selectBox(boxId, fit) {
    overlay.selectedBox = boxId;
    for (const item of boxList.querySelectorAll("li")) item.classList.toggle("selected", item.dataset.boxId === boxId);
    const box = overlay.boxes.find((b) => b.id === boxId);
    if (fit && box) {
      const rect = viewer.viewport.imageToViewportRectangle(box.x_min, box.y_min, box.x_max - box.x_min, box.y_max - box.y_min);
      viewer.viewport.fitBounds(rect, false);
    }
    overlay.redraw();
    detailSection.hidden = false;
    await guarded(detailSection, async () => {
      const detail = await getJson(`/api/boxes/detail/${boxId}`);
      clear(
        detailSection,
        h("h2", detail.label),
        facts([
          ["Nuclei", fmt.number(detail.total_nuclei)],
          ["Area", `${fmt.number(detail.area_mm2)} mm²`],
          ["Density", `${fmt.number(detail.density_per_mm2)} /mm²`],
          ["Neoplastic ratio", fmt.percent(detail.neoplastic_ratio)],
          ["Shannon diversity H", fmt.number(detail.shannon_h)],
          ["Inflammatory index", fmt.number(detail.inflammatory_index)],
          ["Immune : tumour", fmt.number(detail.immune_tumour_ratio)],
          ["Neoplastic : epithelial", fmt.number(detail.ne_epithelial_ratio)],
          ["Viability", fmt.percent(detail.viability)],
          ["Created", fmt.date(detail.created_at)],
        ]),
        breakdown(detail.cell_type_breakdown),
      );
    });
  }

  function breakdown(rows = []) {
    return h(
      "table.breakdown",
      h("thead", h("tr", h("th", "Type"), h("th", "Count"), h("th", "Share"))),
      h(
        "tbody",
        ...rows.map((row) =>
          h(
            "tr",
            h("td", h("span.swatch", { style: `background:${typeColor(row.cell_type)}` }), row.cell_type_name),
            h("td", fmt.number(row.count)),
            h("td", h("span.bar", { style: `--share:${row.fraction}` }), fmt.percent(row.fraction)),
          ),
        ),
      ),
    );
  }

  // ---- ROI statistics of a drawn rectangle
  async function roiStats(rect) {
    overlay.roi = rect;
    overlay.redraw();
    roiSection.hidden = false;
    const bounds = { slide_id: slideId, x_min: rect.x, y_min: rect.y, x_max: rect.x + rect.width, y_max: rect.y + rect.height };
    clear(roiSection, h("h2", "Region statistics"), h("p.hint", "Counting…"));
    await guarded(roiSection, async () => {
      const stats = await postJson("/api/roi/stats", bounds);
      const roiMessages = h("div.messages");
      clear(
        roiSection,
        h("h2", "Region statistics"),
        facts([
          ["Region", `${fmt.number(rect.width)} × ${fmt.number(rect.height)} px`],
          ["Nuclei", fmt.number(stats.total_nuclei)],
          ["Area", `${fmt.number(stats.area_mm2)} mm²`],
          ["Density", `${fmt.number(stats.density_per_mm2)} /mm²`],
          ["Neoplastic ratio", fmt.percent(stats.neoplastic_ratio)],
        ]),
        breakdown(stats.cell_type_breakdown),
        h("button.small", { type: "button", onclick: () => guarded(roiMessages, () => download("/api/roi/geojson", "region.geojson", { method: "POST", json: bounds })) }, "Download GeoJSON"),
        roiMessages,
      );
    });
  }

  // ---- properties and label image
  guarded(propsMessages, async () => {
    const answer = await getJson(`/api/slides/${slideId}/properties`);
    const names = Object.keys(answer.properties || {}).sort();
    propsSection.append(
      h("table.props", h("tbody", ...names.map((name) => h("tr", h("th", name), h("td", answer.properties[name]))))),
    );
    const images = answer.associated_images || [];
    const wanted = images.includes("label") ? "label" : images.includes("macro") ? "macro" : null;
    if (wanted) {
      const img = h("img", { alt: `${wanted} image` });
      labelFigure.append(img, h("figcaption", wanted === "label" ? "Label" : "Macro image"));
      await showImage(img, `/api/slides/${slideId}/associated/${wanted}?max_size=320`);
    } else {
      labelFigure.append(h("figcaption.hint", "This slide has no label image."));
    }
  });

  loadBoxes();
  const onLeave = () => running.forEach((controller) => controller.abort());
  window.addEventListener("beforeunload", onLeave);
  return () => {
    onLeave();
    nucleiRequest?.abort();
    window.removeEventListener("beforeunload", onLeave);
    overlay.destroy();
    viewer.destroy();
    delete window.micrographiaViewer;
  };
}
