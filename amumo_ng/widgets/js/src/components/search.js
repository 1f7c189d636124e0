// Jump to a pair: a search box (a pair index, "#12", or words of a caption) and a result line.
// Enter asks the kernel ({"type": "find", "query"}); it answers the first matches in view and jumps
// to the first one (focus_pair / focus_seq). Enter again on the same query steps to the next match.
//
// Every jump (this box, or Python's explorer.jump_to) bumps focus_seq: the views of the link group
// are then told over the bus: {kind: "focus", pair} (the heatmap zooms to the pair, the scatter
// centres on it) and a hover of the pair's image and text (origin "search": highlights, hover panel).
import { h } from "./dom.js";
import { publish } from "./bus.js";
import { createRpc, isViewDestroyed } from "./rpc.js";
import { createDisposer, listen, onModel } from "./live.js";

// "pair 12 (3 matches, 1 hidden by the filter)" for a find reply {pairs, count, hidden} showing pairs[at]
export function describeFind(query, { pairs = [], count = 0, hidden = 0 }, at = 0) {
  if (!count) return `no caption contains “${query.trim()}”`;
  if (!pairs.length) return `${count} ${count === 1 ? "match" : "matches"}, ${hidden === count && count > 1 ? "all " : ""}hidden by the filter`;
  const parts = [];
  if (count > 1) parts.push(`${count} matches`);
  if (hidden) parts.push(`${hidden} hidden by the filter`);
  const step = at > 0 ? `match ${at + 1} of ${pairs.length} in view; ` : "";
  return `pair ${pairs[at]}` + (parts.length ? ` (${step}${parts.join(", ")})` : "");
}

// model: an Explorer's (focus_pair / focus_seq traits); rpc: optional (one of its own otherwise)
export function createSearch(model, { group, rpc = null, source }) {
  const life = createDisposer();
  const ownRpc = rpc ? null : createRpc(model);
  const request = (rpc || ownRpc);
  if (ownRpc) life.add(() => ownRpc.destroy());
  const input = h("input", {
    type: "text", "data-amumo": "search-input", placeholder: "jump to pair: index or caption…",
    spellcheck: "false", title: "a pair index (42 or #42) or words of a caption; Enter jumps, Enter again: next match",
    style: "width:170px",
  });
  const result = h("span", { "data-amumo": "search-result", class: "amumo-muted", style: "font-size:12px" });
  const el = h("span", { class: "amumo-search", "data-amumo": "search", style: "display:inline-flex;align-items:center;gap:6px" }, [input, result]);

  let seq = 0;       // id of the latest request: older replies are dropped
  let last = null;   // {query, reply, at}: Enter on the same query steps through reply.pairs
  let expect = -1;   // pair a request of ours is jumping to (its focus change is described here)

  function show(text, isError = false) {
    result.textContent = text;
    result.title = text;
    result.className = isError ? "amumo-error" : "amumo-muted";
    result.setAttribute("data-error", isError ? "true" : "false");
  }

  function find(query) {
    const mine = ++seq;
    el.setAttribute("data-pending", "true");
    return request.request("find", { query }).then(({ msg }) => {
      if (mine !== seq || life.disposed) return null;
      el.removeAttribute("data-pending");
      return msg;
    }).catch((err) => {
      if (isViewDestroyed(err) || mine !== seq || life.disposed) return null;
      el.removeAttribute("data-pending");
      show(String(err.message || err).replace(/^ValueError: /, ""), true);
      return null;
    });
  }

  async function submit() {
    const query = input.value;
    if (last && last.query === query && last.reply.pairs.length > 1) {
      // the same query again: the next match in view (asked for by index, so the kernel jumps there)
      const at = (last.at + 1) % last.reply.pairs.length;
      expect = last.reply.pairs[at];
      const msg = await find(String(expect));
      if (!msg) return;
      last = { ...last, at };
      show(describeFind(query, last.reply, at));
      return;
    }
    last = null;
    const msg = await find(query);
    if (!msg) return;
    const reply = { pairs: msg.pairs || [], count: msg.count || 0, hidden: msg.hidden || 0 };
    expect = reply.pairs.length ? reply.pairs[0] : -1;
    last = { query, reply, at: 0 };
    show(describeFind(query, reply, 0), !reply.pairs.length);
  }

  life.add(listen(input, "keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); submit(); }
    ev.stopPropagation(); // typing here is not a JupyterLab shortcut
  }));
  life.add(listen(input, "input", () => { if (last && last.query !== input.value) last = null; }));

  // a jump (ours or Python's explorer.jump_to): every view of the group shows the pair
  function onFocus() {
    const pair = model.get("focus_pair");
    if (!(pair >= 0) || pair >= model.get("n_total")) return;
    if (pair !== expect) { last = null; show(`pair ${pair}`); }
    expect = -1;
    el.setAttribute("data-focus-pair", String(pair));
    publish(group, { kind: "focus", source, pair });
    publish(group, {
      kind: "hover", source, origin: "search",
      items: [{ pair, modality: "image" }, { pair, modality: "text" }],
    });
  }
  life.add(onModel(model, "change:focus_seq", onFocus));

  return { el, input, result, destroy: () => life.dispose() };
}

// Put `el` into the slot `slotAttr` of the explorer holding `anchor` (the layout's controls) once
// `anchor` is in the widget's tree, else at the start of its controls row, else leave it where it is.
// Returns a canceller.
export function mountInControls(anchor, el, slotAttr, { fallback = "prepend-controls" } = {}) {
  let done = false;
  const place = () => {
    if (done) return;
    done = true;
    const explorer = anchor.closest('[data-amumo="explorer"]');
    if (!explorer) return;
    const slot = explorer.querySelector(`[data-amumo="${slotAttr}"]`);
    if (slot) { slot.append(el); return; }
    const controls = explorer.querySelector('[data-amumo="controls"]');
    if (controls && fallback === "prepend-controls") controls.prepend(el);
  };
  queueMicrotask(place); // explorer.js appends the views right after creating them
  return () => { done = true; };
}
