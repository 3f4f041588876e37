// The samples editor: names and FOV ranges ("0-3, 7") checked against the FOVs a
// workflow's output folder has traces for, saved as the YAML merge reads, and
// merged in one step.
import { getJson, postJson } from "./api.js";
import { clear, guarded, h, notice } from "./ui.js";

const SAMPLES = "/api/processing/samples";

export async function mount(container, _args, query) {
  const output = query.get("out") || "";
  const outputInput = h("input", { type: "text", id: "samples-input-dir", size: 60, value: output, placeholder: "The workflow's output folder", required: true });
  const yamlInput = h("input", { type: "text", id: "samples-yaml", size: 60, value: output ? `${output}/samples.yaml` : "", required: true });
  const mergeInput = h("input", { type: "text", id: "samples-merge-dir", size: 60, value: output ? `${output}/merged` : "" });
  const available = h("p.hint", { id: "available-fovs" });
  const rows = h("tbody", { id: "sample-rows" });
  const messages = h("div.messages");
  const merged = h("div", { id: "merged-files" });

  function addRow(name = "", fovs = "") {
    const row = h(
      "tr",
      h("td", h("input", { type: "text", name: "name", value: name, placeholder: "control", required: true })),
      h("td", h("input", { type: "text", name: "fovs", value: fovs, placeholder: "0-3, 7", required: true })),
      h("td", h("button.small", { type: "button", title: "Remove", onclick: () => row.remove() }, "Remove")),
    );
    rows.append(row);
  }

  const samples = () =>
    [...rows.querySelectorAll("tr")].map((row) => ({
      name: row.querySelector('[name="name"]').value.trim(),
      fovs: row.querySelector('[name="fovs"]').value.trim(),
    }));

  async function load() {
    await guarded(messages, async () => {
      const params = new URLSearchParams({ input_dir: outputInput.value.trim() });
      // An existing YAML is read; a new one starts from one sample with every FOV.
      let data = await getJson(`${SAMPLES}?${params}`);
      available.textContent = data.available_fovs?.length ? `FOVs with traces: ${ranges(data.available_fovs)}` : "No FOV of this folder has traces yet";
      params.set("sample_yaml", yamlInput.value.trim());
      try {
        data = { ...data, ...(await getJson(`${SAMPLES}?${params}`)) };
      } catch {
        data.samples = [];
      }
      clear(rows);
      if (data.samples?.length) data.samples.forEach((s) => addRow(s.name, s.fovs));
      else addRow("all", ranges(data.available_fovs || []));
    });
  }

  async function save(andMerge) {
    await guarded(messages, async () => {
      const body = { sample_yaml: yamlInput.value.trim(), samples: samples(), input_dir: outputInput.value.trim() };
      if (andMerge) body.merge_output_dir = mergeInput.value.trim();
      const data = await postJson(SAMPLES, body);
      clear(rows);
      data.samples.forEach((s) => addRow(s.name, s.fovs));
      notice(messages, `Saved ${data.samples.length} sample(s) to ${data.sample_yaml}${data.merge ? " and merged" : ""}`, "success");
      clear(
        merged,
        ...(data.merge
          ? [
              h("h2", "Merged files"),
              h("ul.files", ...(data.merge.merged_files || []).map((file) => h("li", h("span", file.split("/").pop()), h("a.size", { href: `#/fitting?csv=${encodeURIComponent(file)}` }, "fit")))),
            ]
          : []),
      );
    });
  }

  container.append(
    h("div.page-head", h("h1", "Samples"), h("p.hint", "Group fields of view into samples; merge reads the YAML saved here.")),
    h(
      "section.panel",
      h("form.path-bar", { onsubmit: (event) => { event.preventDefault(); load(); } }, h("label", "Output folder ", outputInput), h("button", { type: "submit", id: "load-samples" }, "Load")),
      h("div.path-bar", h("label", "Samples YAML ", yamlInput)),
      available,
      h(
        "form",
        { id: "samples-form", onsubmit: (event) => { event.preventDefault(); save(false); } },
        h("table.samples", h("thead", h("tr", h("th", "Sample"), h("th", "FOVs"), h("th", ""))), rows),
        h("div.path-bar", h("button", { type: "button", id: "add-sample", onclick: () => addRow() }, "Add sample"), h("button.primary", { type: "submit", id: "save-samples" }, "Save")),
        h("div.path-bar", h("label", "Merge into ", mergeInput), h("button", { type: "button", id: "save-and-merge", onclick: () => save(true) }, "Save and merge")),
      ),
      messages,
      merged,
    ),
  );
  if (outputInput.value) await load();
}

// [0, 1, 2, 3, 7] -> "0-3, 7"
function ranges(values) {
  const parts = [];
  let start = null;
  let previous = null;
  for (const value of [...values].sort((a, b) => a - b)) {
    if (previous !== null && value === previous + 1) {
      previous = value;
      continue;
    }
    if (start !== null) parts.push(start === previous ? `${start}` : `${start}-${previous}`);
    start = previous = value;
  }
  if (start !== null) parts.push(start === previous ? `${start}` : `${start}-${previous}`);
  return parts.join(", ");
}
