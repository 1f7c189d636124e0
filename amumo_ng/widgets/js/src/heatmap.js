// anywidget entry: amumo_ng.widgets.SimilarityHeatmap
import { h } from "./components/dom.js";
import { injectStyle } from "./components/style.js";
import { createRpc } from "./components/rpc.js";
import { hold } from "./components/live.js";
import { createHeatmap } from "./components/heatmap.js";
import { createHoverPanel } from "./components/hoverpanel.js";

function render({ model, el }) {
  injectStyle();
  const group = model.get("link_group");
  const source = `${model.get("widget_id")}-${Math.random().toString(36).slice(2, 8)}`;
  const rpc = createRpc(model);
  const heatmap = createHeatmap(model, { group, source, rpc, size: model.get("view_size") || 400 });
  const panel = createHoverPanel(model, { group, rpc, source, hasHeatmap: true });
  el.append(h("div", { class: "amumo-ng amumo-views", "data-amumo": "heatmap-widget" }, [heatmap.el, panel.el]));
  const releaseView = hold("views");
  return () => { heatmap.destroy(); panel.destroy(); rpc.destroy(); releaseView(); };
}

export default { render };
