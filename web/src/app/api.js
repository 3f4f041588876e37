// The edge's REST/SSE API, as the app uses it: JSON calls, images, uploads with
// progress, Server-Sent Events over fetch, and the API key (asked for on a 401,
// kept in sessionStorage, sent as a Bearer header).

const KEY_STORAGE = "micrographia.apiKey";

// Error codes in words a user understands; the server's message follows.
const FRIENDLY = {
  NOT_IMPLEMENTED: "This feature is not available on this server yet",
  NOT_FOUND: "Not found",
  INVALID_PARAMETERS: "The request was not valid",
  FILE_NOT_FOUND: "File not found",
  PATH_NOT_ALLOWED: "That folder is outside the data folders",
  FORBIDDEN: "Not allowed",
  UNAUTHORIZED: "An API key is needed",
  PAYLOAD_TOO_LARGE: "The file is too large",
  UNPROCESSABLE_SLIDE: "The slide could not be read",
  UNAVAILABLE: "A service is unavailable",
  PROCESSING_ERROR: "Processing failed",
  INTERNAL_ERROR: "Unexpected server error",
  NETWORK: "The server could not be reached",
};

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
  get notImplemented() {
    return this.status === 501;
  }
  // "Title: server message (CODE)", for people.
  get text() {
    const title = FRIENDLY[this.code] || `Request failed (HTTP ${this.status})`;
    const said = this.message && this.message !== title ? `: ${this.message}` : "";
    return `${title}${said}${this.code ? ` (${this.code})` : ""}`;
  }
}

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_STORAGE),
  set: (key) => (key ? sessionStorage.setItem(KEY_STORAGE, key) : sessionStorage.removeItem(KEY_STORAGE)),
};

// Set by the app shell: shows the key dialog, resolves with a key or null.
let askForKey = async () => null;
let pendingKey = null;
export function onKeyNeeded(callback) {
  askForKey = callback;
}

export function authHeaders() {
  const key = apiKey.get();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page, say
  }
  const message = body?.error || (typeof body?.detail === "string" ? body.detail : response.statusText);
  return new ApiError(response.status, body?.error_code || "", message, body?.details || {});
}

// fetch with the key; a 401 (or a refused key) asks for a key and tries once more.
export async function request(path, { method = "GET", json, body, signal, headers = {} } = {}) {
  const init = { method, signal, headers: { ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  for (let attempt = 0; ; attempt++) {
    let response;
    try {
      response = await fetch(path, { ...init, headers: { ...init.headers, ...authHeaders() } });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "NETWORK", error.message);
    }
    if (response.ok) return response;
    const error = await errorFrom(response);
    const keyProblem = response.status === 401 || (response.status === 403 && apiKey.get());
    if (keyProblem && attempt === 0) {
      // Requests refused together share one dialog.
      pendingKey ||= askForKey(error.text).finally(() => (pendingKey = null));
      const key = await pendingKey;
      if (key) {
        apiKey.set(key);
        continue;
      }
    }
    throw error;
  }
}

// The JSON body; PyAMA's {success, data} envelope is unwrapped.
export async function getJson(path, options) {
  const response = await request(path, options);
  if (response.status === 204) return null;
  const body = await response.json();
  return body && typeof body === "object" && "success" in body && "data" in body ? body.data : body;
}

export const postJson = (path, json, options = {}) => getJson(path, { ...options, method: "POST", json });

// An image as an object URL (so it carries the key); the caller revokes it.
export async function imageUrl(path, options) {
  const response = await request(path, options);
  return URL.createObjectURL(await response.blob());
}

// Shows `path` in an <img>, releasing the previous object URL.
export async function showImage(img, path, options) {
  const url = await imageUrl(path, options);
  if (img.dataset.objectUrl) URL.revokeObjectURL(img.dataset.objectUrl);
  img.dataset.objectUrl = url;
  await new Promise((resolve) => {
    img.onload = resolve;
    img.onerror = resolve;
    img.src = url;
  });
  return img;
}

// Saves a response body under `filename` (GeoJSON exports).
export async function download(path, filename, options) {
  const response = await request(path, options);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// Multipart upload through XHR, the one browser API that reports upload progress.
export function upload(path, field, file, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // left null
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const message = body?.error || (typeof body?.detail === "string" ? body.detail : xhr.statusText);
        reject(new ApiError(xhr.status, body?.error_code || "", message, body?.details || {}));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "NETWORK", "The upload was interrupted"));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort());
    const form = new FormData();
    form.append(field, file);
    xhr.send(form);
  });
}

// Server-Sent Events over fetch (EventSource can neither POST nor send a key):
// yields {event, data} for each `event:`/`data:` block; comments are skipped.
// Aborting `signal` closes the stream, which cancels the work on the server.
export async function* events(path, { method = "GET", json, signal } = {}) {
  const response = await request(path, {
    method,
    json,
    signal,
    headers: { Accept: "text/event-stream" },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        const message = parseEvent(block);
        if (message) yield message;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const text = data.join("\n");
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}
