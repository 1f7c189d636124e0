// The hover panel's thumbnails: object URLs in a least-recently-used cache of `limit` entries.
// A URL is revoked when its entry is evicted and on clear() (model change, view destroyed); a
// thumbnail that arrives after its entry was dropped is never turned into a URL.
import { createObjectURL, revokeObjectURL } from "./live.js";

export const THUMB_CACHE_SIZE = 256;

export function createThumbCache(limit = THUMB_CACHE_SIZE) {
  const entries = new Map(); // key -> {promise, url, dead}; Map order = least recently used first

  function drop(entry) {
    entry.dead = true;
    if (entry.url) { revokeObjectURL(entry.url); entry.url = null; }
  }

  return {
    // load() -> Promise<{blob} | {missing: message}>; resolves to {url} or {missing}
    get(key, load) {
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
        entries.set(key, entry); // most recently used
        return entry.promise;
      }
      entry = { url: null, dead: false, promise: null };
      entry.promise = load().then((res) => {
        if (!res.blob) return { missing: res.missing || "image unavailable" };
        if (entry.dead) return { missing: "thumbnail dropped" };
        entry.url = createObjectURL(res.blob);
        return { url: entry.url };
      });
      entries.set(key, entry);
      while (entries.size > limit) {
        const [oldKey, old] = entries.entries().next().value;
        entries.delete(oldKey);
        drop(old);
      }
      return entry.promise;
    },
    clear() {
      for (const entry of entries.values()) drop(entry);
      entries.clear();
    },
    get size() { return entries.size; },
  };
}
