// Typed prompt search (CLIP retrieval): a prompt box, k, and the kernel's answer listed with its
// cosines. Enter (or "search") sends {"type": "prompt_search", prompt, k}; the kernel encodes the
// prompt with the current model, finds its k nearest images and texts among the pairs in view and
// sets `prompt_hits` / `prompt_hit_cosines` / `prompt_result` (the views highlight them: scatter
// rings, heatmap bands) and `prompt_xy` (the star in the scatter). An empty prompt or a model without
// encoder comes back as an error, shown here; the last result stays. A click on a hit shows it in
// every view (hover + focus on the bus). "clear" forgets the prompt.
import { h, fmt, COLORS } from "./dom.js";
import { publish } from "./bus.js";
import { isViewDestroyed, packedStrings, typed } from "./rpc.js";
import { createDisposer, listen, onModel } from "./live.js";

export function createPromptBox(model, { group, rpc, source }) {
  const life = createDisposer();
  const input = h("input", { type: "text", "data-amumo": "prompt-input", placeholder: "search a prompt… e.g. a red circle",
    spellcheck: "false", title: "encoded by the current model; its nearest images and texts are highlighted in every view" });
  const k = h("input", { type: "number", "data-amumo": "prompt-k", min: 1, max: 50, value: model.get("prompt_k") || 5, title: "hits per modality" });
  const go = h("button", { "data-amumo": "prompt-search", text: "search" });
  const clear = h("button", { "data-amumo": "prompt-clear", text: "clear" });
  const status = h("div", { class: "amumo-muted amumo-line", "data-amumo": "prompt-status" });
  const list = h("div", { class: "amumo-prompt-hits", "data-amumo": "prompt-hits" });
  const el = h("div", { class: "amumo-prompt", "data-amumo": "prompt-box" }, [
    h("div", { class: "amumo-side-title", text: "prompt search" }),
    h("div", { class: "amumo-prompt-row" }, [input, k, go, clear]), status, list]);
  let seq = 0;
  let captions = null;
  const captionOf = (pair) => (captions || (captions = packedStrings(model.get("captions_utf8"), model.get("caption_offsets")))).at(pair) || "";

  function say(text, isError = false) {
    status.textContent = text;
    status.title = text;
    status.className = `${isError ? "amumo-error" : "amumo-muted"} amumo-line`;
    status.setAttribute("data-error", isError ? "true" : "false");
  }

  function render() {
    const result = model.get("prompt_result") || {};
    const pairs = typed(Int32Array, model.get("prompt_hits"));
    const cosines = typed(Float32Array, model.get("prompt_hit_cosines"));
    const error = model.get("prompt_error") || "";
    list.replaceChildren();
    el.setAttribute("data-hits", String(result.prompt ? pairs.length : 0));
    if (!result.prompt) { say(error || "", !!error); return; }
    const kImages = result.k_images || 0;
    const rows = [];
    for (let i = 0; i < pairs.length; i++) {
      const modality = i < kImages ? "image" : "text";
      if (i === 0 || i === kImages) rows.push(h("div", { class: "amumo-muted", style: `color:${COLORS[modality]}`, text: `nearest ${modality}s` }));
      const pair = pairs[i];
      const row = h("div", { class: "amumo-prompt-hit", "data-amumo": "prompt-hit", "data-pair": pair, "data-modality": modality,
        title: `${modality} of pair ${pair}: ${captionOf(pair)}` }, [
        h("span", { style: "font-variant-numeric:tabular-nums", text: fmt(cosines[i], 3) }),
        h("span", { class: "amumo-muted", text: `#${pair}` }),
        h("span", { class: "amumo-ellipsis", text: captionOf(pair) })]);
      rows.push(row);
    }
    list.replaceChildren(...rows);
    const where = `among ${result.searched} pairs in view${result.gap_closed ? " · gap closed" : ""}`;
    say(error ? `${error} (showing “${result.prompt}”)` : `“${result.prompt}”: cosine to the ${kImages} nearest images and ${pairs.length - kImages} texts ${where}`, !!error);
  }

  function search() {
    const mine = ++seq;
    say("searching…");
    rpc.request("prompt_search", { prompt: input.value, k: Number(k.value) || 5 }).then(() => {
      if (mine === seq && !life.disposed) render();
    }, (err) => {
      if (isViewDestroyed(err) || mine !== seq || life.disposed) return;
      say(err.message.replace(/^ValueError: /, ""), true);
    });
  }

  life.add(listen(input, "keydown", (ev) => { if (ev.key === "Enter") search(); }));
  life.add(listen(go, "click", search));
  life.add(listen(clear, "click", () => {
    ++seq;
    input.value = "";
    rpc.request("prompt_search", { clear: true }).catch(() => {});
  }));
  life.add(listen(list, "click", (ev) => {
    const row = ev.target.closest('[data-amumo="prompt-hit"]');
    if (!row) return;
    const pair = Number(row.getAttribute("data-pair")), modality = row.getAttribute("data-modality");
    const other = modality === "image" ? "text" : "image";
    publish(group, { kind: "focus", pair, source });
    publish(group, { kind: "hover", source, origin: "search", items: [{ pair, modality }, { pair, modality: other }] });
  }));
  life.add(onModel(model, "change:captions_utf8 change:caption_offsets", () => { captions = null; }));
  life.add(onModel(model, "change:prompt_result change:prompt_hits change:prompt_hit_cosines change:prompt_error", render));
  render();
  return { el, destroy: () => life.dispose() };
}
