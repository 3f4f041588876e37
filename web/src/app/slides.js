// Slides: the list (thumbnail, size, MPP, vendor), upload with progress, delete.
import { getJson, request, showImage, upload } from "./api.js";
import { clear, confirmDialog, fmt, guarded, h, notice, progressBar } from "./ui.js";

export function mount(container) {
  const messages = h("div.messages");
  const list = h("div.slide-grid", { id: "slide-list" });
  const progress = progressBar();
  progress.element.hidden = true;
  let uploads = new AbortController(); // one per upload; the page's leaving aborts it
  // The formats come from the slides service (GET /api/slides/formats), never a copy here.
  const input = h("input", { type: "file", id: "slide-file" });
  const formats = h("p.hint", { id: "slide-formats" }, "Formats: …");
  const uploadButton = h("button.primary", { type: "submit", id: "upload-button" }, "Upload");
  const cancelButton = h("button", { type: "button", hidden: true, onclick: () => uploads.abort() }, "Cancel");

  const form = h(
    "form.upload",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        const file = input.files[0];
        if (!file) return notice(messages, "Choose a slide file first.", "info");
        uploads = new AbortController();
        uploadButton.disabled = true;
        cancelButton.hidden = false;
        progress.element.hidden = false;
        progress.set(0, `Uploading ${file.name}…`);
        await guarded(messages, async () => {
          const slide = await upload("/api/slides/upload", "file", file, (fraction) => {
            progress.set(fraction, fraction < 1 ? `Uploading ${file.name}: ${fmt.percent(fraction)}` : "Reading the slide…");
          }, uploads.signal);
          progress.set(1, `${slide.filename} uploaded`);
          notice(messages, `Uploaded ${slide.filename} (${slide.width_px} × ${slide.height_px} px).`, "success");
          input.value = "";
          await refresh();
        });
        uploadButton.disabled = false;
        cancelButton.hidden = true;
      },
    },
    h("label", "Whole-slide image ", input),
    uploadButton,
    cancelButton,
    progress.element,
  );

  container.append(
    h("div.page-head", h("h1", "Slides"), formats),
    form,
    messages,
    list,
  );

  async function remove(slide) {
    const sure = await confirmDialog(
      `Delete “${slide.filename}”? Its analyses (every analysis box and its nuclei) are deleted too. This cannot be undone.`,
    );
    if (!sure) return;
    await guarded(messages, async () => {
      await request(`/api/slides/${slide.id}`, { method: "DELETE" });
      notice(messages, `Deleted ${slide.filename} and its analyses.`, "success");
      await refresh();
    });
  }

  function card(slide) {
    const thumb = h("img.thumb", { alt: `Thumbnail of ${slide.filename}` });
    showImage(thumb, `/api/slides/${slide.id}/thumbnail?max_size=240`).catch(() => thumb.classList.add("missing"));
    const open = `#/viewer/${slide.id}`;
    return h(
      "article.slide-card",
      { dataset: { slideId: slide.id } },
      h("a.thumb-link", { href: open }, thumb),
      h("h3", h("a", { href: open }, slide.filename)),
      h(
        "dl",
        h("dt", "Size"),
        h("dd", `${fmt.number(slide.width_px)} × ${fmt.number(slide.height_px)} px`),
        h("dt", "MPP"),
        h("dd", `${fmt.number(slide.mpp, 4)} µm/px${slide.mpp_assumed ? " (assumed)" : ""}`),
        h("dt", "Vendor"),
        h("dd", slide.vendor || "—"),
        slide.objective_power ? [h("dt", "Objective"), h("dd", `${slide.objective_power}×`)] : null,
        h("dt", "Uploaded"),
        h("dd", fmt.date(slide.created_at)),
      ),
      h(
        "div.actions",
        h("a.button.primary", { href: open }, "Open"),
        h("button.danger", { type: "button", onclick: () => remove(slide) }, "Delete"),
      ),
    );
  }

  async function refresh() {
    try {
      const slides = await getJson("/api/slides/");
      clear(list, ...(slides.length ? slides.map(card) : [h("p.empty", "No slides yet: upload one above.")]));
    } catch (error) {
      notice(list, error);
    }
  }

  async function showFormats() {
    try {
      const { extensions, zipped_extensions: zipped } = await getJson("/api/slides/formats");
      input.accept = extensions.join(",");
      const inZip = zipped.length ? ` (${zipped.join(" ")} slides: a .zip with their companion files)` : "";
      formats.textContent = `Formats: ${extensions.join(" ")}${inZip}`;
    } catch (error) {
      notice(messages, error);
    }
  }

  showFormats();
  refresh();
  return () => uploads.abort();
}
