// The microscopy workbench: a file browser inside the data roots, a frame
// viewer (FOV, time, channel; a finished job's outlines on demand), the
// workflow form generated from the configuration schema, jobs and results.
import { getJson, postJson, showImage } from "./api.js";
import { jobCard } from "./jobs.js";
import { schemaForm } from "./schema-form.js";
import { clear, debounce, facts, fmt, guarded, h, notice } from "./ui.js";

const WORKFLOW = "/api/processing/workflow";

export async function mount(container) {
  const stops = [];
  const browserPanel = h("section.panel", { id: "file-browser" }, h("h2", "Files"));
  const framePanel = h("section.panel", { id: "frame-viewer" }, h("h2", "Frames"), h("p.hint", "Pick a microscopy file (bold) to see its frames."));
  const workflowPanel = h("section.panel", { id: "workflow" }, h("h2", "Process"));
  const jobsPanel = h("section.panel", { id: "jobs" }, h("h2", "Jobs and results"));
  container.append(h("div.page-head", h("h1", "Microscopy")), h("div.workbench", h("div", browserPanel), h("div", framePanel, workflowPanel, jobsPanel)));

  // ---- file browser
  const rootSelect = h("select", { id: "root-select" });
  const pathLabel = h("code", { id: "current-path" });
  const fileList = h("ul.files", { id: "file-list" });
  const searchInput = h("input", { type: "search", placeholder: "Search names, e.g. *.nd2", id: "file-search" });
  const browserMessages = h("div.messages");
  const info = h("div", { id: "file-info" });
  let roots = [];
  let current = "";
  browserPanel.append(
    h("div.path-bar", h("label", "Data folder ", rootSelect)),
    h("div.path-bar", h("button.small", { type: "button", onclick: () => up() }, "Up"), pathLabel),
    h("form", { onsubmit: (event) => { event.preventDefault(); search(); } }, searchInput),
    browserMessages,
    fileList,
    info,
  );
  rootSelect.addEventListener("change", () => list(rootSelect.value));

  function entryRow(entry) {
    const row = h(
      "li",
      { class: entry.is_directory ? "dir" : entry.is_microscopy_file ? "micro" : "", dataset: { path: entry.path }, title: entry.path },
      h("span", entry.name),
      h("span.size", entry.is_directory ? "" : fmt.bytes(entry.size_bytes)),
    );
    row.addEventListener("click", () => (entry.is_directory ? list(entry.path) : pick(entry.path, row)));
    return row;
  }

  // Only the newest listing or search is drawn: an older answer arriving late
  // (the first root's listing, say) must not replace the folder asked for since.
  let asked = 0;

  async function list(path) {
    const ticket = ++asked;
    await guarded(browserMessages, async () => {
      const answer = await postJson("/api/processing/list-directory", { directory_path: path });
      if (ticket !== asked) return;
      current = answer.directory_path;
      pathLabel.textContent = current;
      clear(fileList, ...(answer.items.length ? answer.items.map(entryRow) : [h("li.empty", "Empty folder")]));
    });
  }

  function up() {
    const root = roots.find((r) => current.startsWith(r)) || roots[0];
    if (!current || current === root) return;
    list(current.replace(/\/[^/]+\/?$/, "") || root);
  }

  async function search() {
    const text = searchInput.value.trim();
    if (!text) return list(current);
    const pattern = text.includes("*") ? (text.startsWith("**") ? text : `**/${text}`) : `**/*${text}*`;
    const ticket = ++asked;
    await guarded(browserMessages, async () => {
      const answer = await postJson("/api/processing/search-files", { search_path: current, pattern, limit: 500 });
      if (ticket !== asked) return;
      pathLabel.textContent = `${current} — ${answer.total_found} found for ${pattern}`;
      clear(fileList, ...(answer.files.length ? answer.files.map(entryRow) : [h("li.empty", "Nothing matches")]));
    });
  }

  async function pick(path, row) {
    for (const item of fileList.querySelectorAll("li.selected")) item.classList.remove("selected");
    row?.classList.add("selected");
    await guarded(info, async () => {
      const answer = await postJson("/api/processing/file-info", { file_path: path });
      const file = answer.file_info;
      const meta = answer.metadata_preview;
      clear(
        info,
        h("h2", file.name),
        facts([
          ["Size", fmt.bytes(file.size_bytes)],
          ["Modified", fmt.date(file.modified_time)],
          meta && ["Type", meta.file_type],
          meta && ["FOVs", meta.n_fovs],
          meta && ["Frames", meta.n_frames],
          meta && ["Channels", (meta.channel_names || []).join(", ") || meta.n_channels],
          meta && ["Frame", meta.frame_shape?.join(" × ")],
          meta && ["Pixel size", meta.pixel_size_um ? `${meta.pixel_size_um} µm` : "—"],
          meta && ["Data type", meta.dtype],
          answer.metadata_error && ["Metadata", answer.metadata_error],
        ]),
      );
      if (meta) openFrames(path, meta);
      if (/\.csv$/i.test(path)) info.append(h("a.button", { href: `#/fitting?csv=${encodeURIComponent(path)}` }, "Fit these traces"));
    });
  }

  // ---- frame viewer
  let frames = null;
  // The file's channels by name for the form's channel lists (index when unnamed).
  let channelChoices = [];
  function openFrames(path, meta) {
    const names = meta.channel_names || [];
    channelChoices = Array.from({ length: meta.n_channels || names.length }, (_, index) => ({ value: String(index), label: names[index] || `Channel ${index}` }));
    workflow?.refreshChannels();
    const img = h("img", { alt: "Frame", id: "frame-image" });
    const frameMessages = h("div.messages");
    const displayRange = h("span.hint");
    const sliders = {};
    const slider = (name, count) => {
      const input = h("input", { type: "range", min: 0, max: Math.max(0, count - 1), value: 0, disabled: count <= 1, id: `frame-${name}` });
      const value = h("output", "0");
      input.addEventListener("input", () => {
        value.textContent = input.value;
        render();
      });
      sliders[name] = input;
      return [h("label", { htmlFor: input.id }, name === "t" ? "Time" : name === "fov" ? "FOV" : "Channel"), input, value];
    };
    const overlayJob = h("select", { id: "overlay-job" }, h("option", { value: "" }, "No overlay"));
    for (const job of completedJobs.filter((j) => j.path === path)) overlayJob.append(h("option", { value: job.id }, `Outlines of ${job.id}`));
    overlayJob.addEventListener("change", () => render());
    frames = { path, overlayJob };
    const render = debounce(
      () =>
        guarded(frameMessages, async () => {
          const params = new URLSearchParams({
            file_path: path,
            fov: sliders.fov.value,
            t: sliders.t.value,
            channel: sliders.channel.value,
            max_size: 768,
          });
          if (overlayJob.value) params.set("overlay_job_id", overlayJob.value);
          await showImage(img, `/api/processing/frame?${params}`);
          displayRange.textContent = `${meta.channel_names?.[sliders.channel.value] || "channel " + sliders.channel.value}, frame ${sliders.t.value}`;
        }),
      120,
    );
    clear(
      framePanel,
      h("h2", `Frames of ${path.split("/").pop()}`),
      h(
        "div.frame-view",
        img,
        h("div", h("div.controls", ...slider("fov", meta.n_fovs), ...slider("t", meta.n_frames), ...slider("channel", meta.n_channels)), h("label", "Overlay ", overlayJob), displayRange, frameMessages),
      ),
    );
    render();
    workflow?.setFile(path);
  }

  // ---- workflow form
  let workflow = null;
  const completedJobs = [];
  const workflowMessages = h("div.messages");
  try {
    const [schema, catalogue] = await Promise.all([getJson("/api/processing/config-schema"), getJson("/api/processing/features")]);
    // Features from the catalogue as a checklist; channels picked by the file's names.
    const features = new Map();
    for (const f of [...(catalogue.phase_features || []), ...(catalogue.fluorescence_features || [])]) features.set(f.id, { value: f.id, label: f.name || f.id });
    const form = schemaForm(
      schema,
      { channels: { phase: { channel: 0, features: ["area"] }, fluorescence: [] } },
      {
        choices: { features: [...features.values()] },
        named: { channel: () => channelChoices },
      },
    );
    const submit = h("button.primary", { type: "submit", id: "start-workflow" }, "Start processing");
    const element = h(
      "form",
      {
        id: "workflow-form",
        onsubmit: async (event) => {
          event.preventDefault();
          await guarded(workflowMessages, async () => {
            const body = form.read();
            const started = await postJson(`${WORKFLOW}/start`, body);
            addJob(started.job_id, body.microscopy_path, body.output_dir);
          });
        },
      },
      form.element,
      submit,
    );
    const field = (name) => element.querySelector(`[data-field="${name}"] input`);
    workflow = {
      refreshChannels: () => form.refreshNamed(),
      // The file, and the schema's default output folder spelled out (REST needs one).
      setFile(path) {
        field("microscopy_path").value = path;
        const output = field("output_dir");
        if (output) output.value = path.replace(/(\.ome)?\.[^./]+$/, "") + "_output";
      },
    };
    clear(workflowPanel, h("h2", "Process"), element, workflowMessages);
    if (frames) workflow.setFile(frames.path);
  } catch (error) {
    notice(workflowMessages, error);
    workflowPanel.append(workflowMessages);
  }

  // ---- jobs, results, merge
  const jobList = h("div", { id: "job-list" });
  const results = h("div", { id: "workflow-results" });
  jobsPanel.append(jobList, results);

  function addJob(jobId, path, outputDir) {
    const card = jobCard(WORKFLOW, jobId, path ? path.split("/").pop() : "workflow", (final) => {
      if (final.status === "completed") {
        completedJobs.push({ id: jobId, path });
        if (frames?.path === path) frames.overlayJob.append(h("option", { value: jobId }, `Outlines of ${jobId}`));
        showResults(jobId, outputDir);
      }
    });
    stops.push(card.stop);
    jobList.prepend(card.element);
  }

  async function showResults(jobId, outputDir) {
    await guarded(results, async () => {
      const data = await getJson(`${WORKFLOW}/results/${jobId}`);
      const mergeMessages = h("div.messages");
      const sample = h("input", { type: "text", placeholder: "/data/samples.yaml", size: 40, id: "merge-yaml" });
      const mergeOut = h("input", { type: "text", value: `${data.output_dir}/merged`, size: 40 });
      clear(
        results,
        h("h2", "Results"),
        facts([
          ["Output folder", data.output_dir],
          ["Cells", fmt.number(data.stats.total_cells)],
          ["Frames", fmt.number(data.stats.total_frames)],
          ["Processing time", `${fmt.number(data.stats.processing_time)} s`],
        ]),
        h(
          "ul.files",
          ...data.traces.map((trace) =>
            h(
              "li",
              h("span", trace.split("/").pop()),
              h("span.size", h("a", { href: `#/cells?traces=${encodeURIComponent(trace)}` }, "inspect cells"), " · ", h("a", { href: `#/fitting?csv=${encodeURIComponent(trace)}` }, "fit")),
            ),
          ),
        ),
        h("a.button", { href: `#/samples?out=${encodeURIComponent(data.output_dir)}`, id: "define-samples" }, "Define samples and merge"),
        h(
          "form",
          {
            onsubmit: async (event) => {
              event.preventDefault();
              await guarded(mergeMessages, async () => {
                const merged = await postJson("/api/processing/merge", { sample_yaml: sample.value, input_dir: data.output_dir, output_dir: mergeOut.value });
                clear(mergeMessages, h("div.notice.success", `Merged into ${merged.merged_files?.length ?? 0} files in ${merged.output_dir}`), h("ul.files", ...(merged.merged_files || []).map((file) => h("li", h("a", { href: `#/fitting?csv=${encodeURIComponent(file)}` }, file.split("/").pop())))));
              });
            },
          },
          h("h2", "Merge into samples"),
          h("div.path-bar", h("label", "Sample YAML ", sample)),
          h("div.path-bar", h("label", "Output folder ", mergeOut), h("button", { type: "submit" }, "Merge")),
          mergeMessages,
        ),
      );
    });
  }

  // Workflows still running (started before this page was opened) are watched too.
  getJson("/jobs")
    .then(({ active_jobs }) => active_jobs.filter((job) => job.service === "microscopy").forEach((job) => addJob(job.job_id, "", "")))
    .catch(() => {});

  // ---- start: the data roots
  await guarded(browserMessages, async () => {
    roots = (await getJson("/api/processing/data-roots")).roots;
    clear(rootSelect, ...roots.map((root) => h("option", { value: root }, root)));
    if (roots.length) await list(roots[0]);
  });
  return () => stops.forEach((stop) => stop());
}
