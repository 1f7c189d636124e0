// anywidget entry: amumo_ng.widgets.Scatter
import { h } from "./components/dom.js";
import { injectStyle } from "./components/style.js";
import { createRpc } from "./components/rpc.js";
import { hold } from "./components/live.js";
import { createScatter } from "./components/scatter.js";
import { createHoverPanel } from "./components/hoverpanel.js";

function render({ model, el }) {
  injectStyle();
  const group = model.get("link_group");
  const source = `${model.get("widget_id")}-${Math.random().toString(36).slice(2, 8)}`;
  const rpc = createRpc(model);
  const scatter = createScatter(model, { group, source, width: model.get("view_size") || 400, height: model.get("view_size") || 400 });
  const panel = createHoverPanel(model, { group, rpc, source, hasHeatmap: false });
  el.append(h("div", { class: "amumo-ng amumo-views", "data-amumo": "scatter-widget" }, [scatter.el, panel.el]));
  const releaseView = hold("views");
  return () => { scatter.destroy(); panel.destroy(); rpc.destroy(); releaseView(); };
}

export default { render };
