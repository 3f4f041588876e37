// The app shell: hash routes to pages, the API-key dialog, the health badge.
import { getJson, onKeyNeeded } from "./api.js";
import { clear, h } from "./ui.js";

const PAGES = {
  slides: () => import("./slides.js"),
  viewer: () => import("./viewer.js"),
  microscopy: () => import("./microscopy.js"),
  fitting: () => import("./fitting.js"),
  cells: () => import("./cells.js"),
  samples: () => import("./samples.js"),
  explorer: () => import("./explorer.js"),
};

const main = document.getElementById("page");
let unmount = null;

// #/viewer/<id>?x=1 -> {name: "viewer", args: ["<id>"], query}
function route() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...args] = path.split("/").filter(Boolean);
  return { name: PAGES[name] ? name : "slides", args, query: new URLSearchParams(query) };
}

async function show() {
  const { name, args, query } = route();
  unmount?.();
  unmount = null;
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.page === (name === "viewer" ? "slides" : name));
  }
  clear(main);
  const page = await PAGES[name]();
  const container = h("section.page." + name);
  main.append(container);
  unmount = (await page.mount(container, args, query)) || null;
  document.body.dataset.page = name;
}

// The key dialog: the reason, a password field; resolves with the key or null.
const dialog = document.getElementById("key-dialog");
onKeyNeeded(
  (reason) =>
    new Promise((resolve) => {
      document.getElementById("key-reason").textContent = reason;
      const input = document.getElementById("key-input");
      input.value = "";
      dialog.addEventListener(
        "close",
        () => resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null),
        { once: true },
      );
      dialog.showModal();
    }),
);

async function health() {
  const badge = document.getElementById("health");
  try {
    const state = await getJson("/health");
    const down = Object.entries(state.backends || {}).filter(([, b]) => b.status !== "serving");
    badge.textContent = state.status;
    badge.className = "health " + state.status;
    badge.title = down.length ? `Not serving: ${down.map(([name]) => name).join(", ")}` : "All services serving";
  } catch {
    badge.textContent = "offline";
    badge.className = "health offline";
  }
}

window.addEventListener("hashchange", show);
show();
health();
setInterval(health, 30_000);
