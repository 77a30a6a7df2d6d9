// Server-sent events over fetch: unlike EventSource it can send the API key, and it resumes with Last-Event-ID
// after a dropped connection, so no narration chunk is lost or shown twice.
import { headers, reportUnauthorized } from "./api.js";

/**
 * Follows `path` until stop() is called. handlers: { event(type, data), open(), lost() }. The result's `opened`
 * resolves when the first connection is up.
 * Reconnects with a growing delay (at most 5 s) and the id of the last event received.
 */
export function follow(path, handlers) {
  let markOpened;
  const opened = new Promise((resolve) => { markOpened = resolve; });
  let lastId = null;
  let stopped = false;
  let controller = null;
  let delay = 250;

  async function connect() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(path, {
          headers: headers({ accept: "text/event-stream", ...(lastId ? { "last-event-id": lastId } : {}) }),
          signal: controller.signal,
        });
        if (stopped) { controller.abort(); return; }
        if (!res.ok || !res.body) {
          // 401: the key is missing, wrong or revoked; the page asks for one (the same path as any other request).
          if (res.status === 401) { reportUnauthorized(); handlers.lost?.(true); return; }
          // 404/403: the session is gone or no longer ours, retrying will not help.
          if (res.status >= 400 && res.status < 500 && res.status !== 429) { handlers.lost?.(true); return; }
          throw new Error(`HTTP ${res.status}`);
        }
        delay = 250;
        markOpened();
        handlers.open?.(lastId !== null);
        await read(res.body.getReader());
      } catch (err) {
        if (stopped) return;
      }
      if (stopped) return;
      handlers.lost?.(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }

  async function read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done || stopped) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        dispatch(block);
      }
    }
  }

  function dispatch(block) {
    if (stopped) return;
    let type = "message";
    let id = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (id !== null) lastId = id;
    if (!data.length) return;
    let parsed;
    try { parsed = JSON.parse(data.join("\n")); } catch { parsed = data.join("\n"); }
    handlers.event(type, parsed);
  }

  connect();
  return {
    stop() { stopped = true; controller?.abort(); },
    get lastEventId() { return lastId; },
    /** Resolves once the server has the stream (it counts as a watcher from then on). */
    opened,
  };
}
