// Request/response over anywidget custom messages: send {type, req, ...}, the kernel replies
// with the same type and req (plus binary buffers). Every view of a model sees every reply, so
// request ids are unique in the page (one counter shared by all views and bundles), not per view.
// destroy() settles what is still pending: those promises reject with a ViewDestroyedError
// (callers test it with isViewDestroyed(err) and stay quiet).
import { hold, onModel } from "./live.js";

const NEXT = "__amumoNgNextReq";

export class ViewDestroyedError extends Error {
  constructor(type) {
    super(`view destroyed: the ${type} request was dropped`);
    this.name = "ViewDestroyedError";
  }
}

export function isViewDestroyed(err) {
  return err instanceof Error && err.name === "ViewDestroyedError";
}

function nextReq() {
  const req = globalThis[NEXT] || 1;
  globalThis[NEXT] = req + 1;
  return req;
}

export function createRpc(model) {
  const pending = new Map(); // req -> {resolve, reject, type, release}
  let destroyed = false;
  const settle = (req) => {
    const p = pending.get(req);
    pending.delete(req);
    p.release();
    return p;
  };
  const offMsg = onModel(model, "msg:custom", (msg, buffers) => {
    if (!msg || msg.req == null || !pending.has(msg.req)) return;
    const { resolve, reject } = settle(msg.req);
    if (msg.error) reject(new Error(msg.error));
    else resolve({ msg, buffers: buffers || [] });
  });
  return {
    request(type, content = {}) {
      if (destroyed) return Promise.reject(new ViewDestroyedError(type));
      const req = nextReq();
      return new Promise((resolve, reject) => {
        pending.set(req, { resolve, reject, type, release: hold("requests") });
        try {
          model.send({ ...content, type, req });
        } catch (err) {
          settle(req);
          reject(err);
        }
      });
    },
    get pending() { return pending.size; },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      offMsg();
      for (const req of [...pending.keys()]) {
        const { reject, type } = settle(req);
        reject(new ViewDestroyedError(type));
      }
    },
  };
}

// Binary trait or buffer (DataView / ArrayBuffer / typed array) -> typed array view of `Type`.
export function typed(Type, value) {
  if (!value) return new Type(0);
  if (value instanceof DataView) return new Type(value.buffer, value.byteOffset, value.byteLength / Type.BYTES_PER_ELEMENT);
  if (value instanceof ArrayBuffer) return new Type(value);
  if (ArrayBuffer.isView(value)) return new Type(value.buffer, value.byteOffset, value.byteLength / Type.BYTES_PER_ELEMENT);
  return new Type(0);
}

// Packed strings (Python `pack_strings`): UTF-8 bytes + uint32 [n + 1] offsets -> { length, at(i) }.
// Strings are decoded one at a time, when asked for, and kept.
const utf8 = new TextDecoder("utf-8");
export function packedStrings(bytesValue, offsetsValue) {
  const bytes = typed(Uint8Array, bytesValue);
  const offsets = typed(Uint32Array, offsetsValue);
  const length = Math.max(offsets.length - 1, 0);
  const decoded = new Map();
  return {
    length,
    at(i) {
      if (!(i >= 0 && i < length)) return undefined;
      let s = decoded.get(i);
      if (s === undefined) { s = utf8.decode(bytes.subarray(offsets[i], offsets[i + 1])); decoded.set(i, s); }
      return s;
    },
  };
}
