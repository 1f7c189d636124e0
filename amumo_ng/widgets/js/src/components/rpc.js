// Request/response over anywidget custom messages: send {type, req, ...}, the kernel replies
// with the same type and req (plus binary buffers). Stale requests of a kind can be superseded.
export function createRpc(model) {
  let next = 1;
  const pending = new Map();
  const onMsg = (msg, buffers) => {
    if (!msg || msg.req == null || !pending.has(msg.req)) return;
    const { resolve, reject } = pending.get(msg.req);
    pending.delete(msg.req);
    if (msg.error) reject(new Error(msg.error));
    else resolve({ msg, buffers: buffers || [] });
  };
  model.on("msg:custom", onMsg);
  return {
    request(type, content = {}) {
      const req = next++;
      return new Promise((resolve, reject) => {
        pending.set(req, { resolve, reject });
        model.send({ ...content, type, req });
      });
    },
    destroy() {
      model.off("msg:custom", onMsg);
      pending.clear();
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
