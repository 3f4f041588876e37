// A job card: live progress from the job's SSE stream, cancel, and the outcome.
// `base` is "/api/processing/workflow", "/api/analysis/fitting" or "/api/slide-analysis".
import { events, postJson } from "./api.js";
import { fmt, h, notice, progressBar } from "./ui.js";

const FINISHED = new Set(["completed", "failed", "cancelled"]);

export function jobCard(base, jobId, title, onFinished, onProgress) {
  const progress = progressBar();
  const status = h("span.status", "pending");
  const messages = h("div.messages");
  const controller = new AbortController();
  const cancel = h(
    "button.small.danger",
    {
      type: "button",
      onclick: async () => {
        try {
          await postJson(`${base}/cancel/${jobId}`, {});
          status.textContent = "cancelling";
        } catch (error) {
          notice(messages, error);
        }
      },
    },
    "Cancel",
  );
  const element = h("div.job", { dataset: { jobId } }, h("div", h("strong", title), " ", h("code", jobId), " · ", status, " ", cancel), progress.element, messages);
  progress.set(null, "waiting…");

  (async () => {
    let last = null;
    try {
      for await (const { event, data } of events(`${base}/events/${jobId}`, { signal: controller.signal })) {
        if (event === "error") {
          notice(messages, `${data.error} (${data.error_code})`);
          break;
        }
        last = data;
        const p = data.progress || {};
        const done = p.current_fov ?? p.current_cell ?? p.regions_done ?? 0;
        const total = p.total_fovs ?? p.total_cells ?? p.regions_total ?? 0;
        const step = p.current_step ? ` · ${p.current_step}` : p.nuclei !== undefined ? ` regions · ${fmt.number(p.nuclei)} nuclei` : "";
        const eta = p.estimated_remaining ? ` · ${Math.round(p.estimated_remaining)} s left` : "";
        progress.set((p.percentage ?? 0) / 100, `${fmt.number(done)} / ${fmt.number(total)}${step}${eta}`);
        status.textContent = data.status;
        element.dataset.status = data.status;
        onProgress?.(data);
        if (FINISHED.has(data.status)) break;
      }
    } catch (error) {
      if (error.name !== "AbortError") notice(messages, error);
    }
    cancel.hidden = true;
    if (last && FINISHED.has(last.status)) {
      if (last.status === "completed") progress.set(1, last.message || "completed");
      else if (last.error) notice(messages, `${last.error.message} (${last.error.code})`);
      onFinished?.(last);
    }
  })();
  return { element, stop: () => controller.abort() };
}
