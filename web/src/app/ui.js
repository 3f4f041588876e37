// Small DOM helpers shared by the pages.

// h("div.card", {onclick}, child, ...): an element with classes, attributes and children.
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const element = document.createElement(tag || "div");
  if (classes.length) element.className = classes.join(" ");
  if (attrs instanceof Node || typeof attrs !== "object" || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element && name !== "list") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export function clear(element, ...children) {
  element.replaceChildren(...children);
  return element;
}

export const fmt = {
  number: (value, digits = 3) =>
    value === null || value === undefined || Number.isNaN(value)
      ? "—"
      : Number.isInteger(value)
        ? value.toLocaleString("en")
        : Number(value).toPrecision(digits),
  bytes: (bytes) => {
    if (bytes === null || bytes === undefined) return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let index = 0;
    while (bytes >= 1024 && index < units.length - 1) {
      bytes /= 1024;
      index++;
    }
    return `${bytes.toFixed(index ? 1 : 0)} ${units[index]}`;
  },
  date: (text) => (text ? new Date(text).toLocaleString() : "—"),
  percent: (fraction) => (fraction === null || fraction === undefined ? "—" : `${(fraction * 100).toFixed(1)}%`),
};

// A message strip: error (ApiError or any Error), info or success.
export function notice(target, content, kind = "error") {
  const text = content?.text || content?.message || String(content);
  clear(target, h("div.notice." + kind, { role: kind === "error" ? "alert" : "status" }, text));
}

// Runs `work`, showing its error in `target`; rethrows nothing (UI callbacks).
export async function guarded(target, work) {
  try {
    if (target) clear(target);
    return await work();
  } catch (error) {
    if (error?.name === "AbortError") return undefined;
    console.error(error);
    if (target) notice(target, error);
    return undefined;
  }
}

// A modal yes/no question; resolves true on confirm.
export function confirmDialog(message, confirmLabel = "Delete") {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog.confirm",
      h("p", message),
      h(
        "div.actions",
        h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
        h("button.danger", { type: "button", onclick: () => close(true) }, confirmLabel),
      ),
    );
    function close(answer) {
      dialog.close();
      dialog.remove();
      resolve(answer);
    }
    dialog.addEventListener("cancel", () => close(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A labelled progress bar: set(fraction, text); fraction null = indeterminate.
export function progressBar() {
  const bar = h("progress", { max: 1 });
  const label = h("span.progress-label");
  const element = h("div.progress", bar, label);
  return {
    element,
    set(fraction, text = "") {
      if (fraction === null || fraction === undefined) bar.removeAttribute("value");
      else bar.value = Math.max(0, Math.min(1, fraction));
      label.textContent = text;
    },
  };
}

// A two-column table of label -> value.
export function facts(rows) {
  return h(
    "table.facts",
    h("tbody", ...rows.filter(Boolean).map(([label, value]) => h("tr", h("th", label), h("td", value ?? "—")))),
  );
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
