// anywidget entry: amumo_ng.widgets.InterpolationStrip
import { injectStyle } from "./components/style.js";
import { hold } from "./components/live.js";
import { createStrip } from "./components/strip.js";

function render({ model, el }) {
  injectStyle();
  const strip = createStrip(model);
  el.append(strip.el);
  const releaseView = hold("views");
  return () => { strip.destroy(); releaseView(); };
}

export default { render };
