// anywidget entry: amumo_ng.Explorer
import { h } from "./components/dom.js";
import { injectStyle } from "./components/style.js";
import { createRpc } from "./components/rpc.js";
import { hold } from "./components/live.js";
import { createControls } from "./components/controls.js";
import { createHeatmap } from "./components/heatmap.js";
import { createScatter } from "./components/scatter.js";
import { createHoverPanel } from "./components/hoverpanel.js";

function render({ model, el }) {
  injectStyle();
  const group = model.get("link_group");
  const source = `${model.get("widget_id")}-${Math.random().toString(36).slice(2, 8)}`;
  const rpc = createRpc(model);
  const controls = createControls(model);
  const heatmap = createHeatmap(model, { group, source, rpc, size: model.get("view_size") || 400 });
  const scatter = createScatter(model, { group, source, width: model.get("view_size") || 400, height: model.get("view_size") || 400 });
  const panel = createHoverPanel(model, { group, rpc, source, hasHeatmap: true });
  const title = h("div", { class: "amumo-title", text: model.get("title") });
  if (!model.get("title")) title.style.display = "none";
  const root = h("div", { class: "amumo-ng", "data-amumo": "explorer", "data-widget-id": model.get("widget_id") }, [
    title, controls.el, h("div", { class: "amumo-views" }, [heatmap.el, scatter.el, panel.el]),
  ]);
  el.append(root);
  const releaseView = hold("views");
  // the kernel requests last: pending ones are rejected (ViewDestroyedError) once nobody listens
  return () => { controls.destroy(); heatmap.destroy(); scatter.destroy(); panel.destroy(); rpc.destroy(); releaseView(); };
}

export default { render };
