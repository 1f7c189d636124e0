// Styles injected once per document (scoped by the .amumo-ng class).
const CSS = `
.amumo-ng { font: 13px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; }
.amumo-ng .amumo-title { font-weight: 600; font-size: 14px; margin: 2px 0 6px; }
.amumo-ng .amumo-controls { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; margin-bottom: 8px; }
.amumo-ng .amumo-controls label { display: inline-flex; align-items: center; gap: 4px; }
.amumo-ng .amumo-controls input[type=text] { width: 180px; padding: 2px 4px; }
.amumo-ng .amumo-error { color: #b00020; }
.amumo-ng .amumo-filter-error { display: inline-block; width: 160px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: middle; }
.amumo-ng .amumo-filter { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
.amumo-ng .amumo-muted { color: #666; }
.amumo-ng .amumo-views { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.amumo-ng .amumo-heatmap { position: relative; display: inline-block; }
.amumo-ng .amumo-heatmap-area { position: relative; }
.amumo-ng canvas.amumo-heat { display: block; image-rendering: pixelated; cursor: crosshair; background: #eee; }
.amumo-ng canvas.amumo-overlay { position: absolute; left: 0; top: 0; pointer-events: none; }
.amumo-ng .amumo-empty { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  color: #666; background: #f6f6f6; border: 1px dashed #bbb; text-align: center; padding: 8px; }
.amumo-ng .amumo-axis { position: absolute; font-size: 11px; color: #444; white-space: nowrap; }
.amumo-ng .amumo-legend { display: flex; align-items: center; gap: 4px; font-size: 11px; margin-top: 4px; }
.amumo-ng .amumo-scatter { position: relative; display: inline-block; border: 1px solid #ddd; background: #fff; }
.amumo-ng .amumo-scatter canvas { display: block; }
.amumo-ng .amumo-scatter-bar { display: flex; gap: 10px; align-items: center; font-size: 12px; margin-top: 4px; flex-wrap: wrap; }
.amumo-ng .amumo-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 3px; }
.amumo-ng .amumo-hover { width: 220px; min-height: 120px; border: 1px solid #ddd; padding: 6px; background: #fafafa; }
.amumo-ng .amumo-hover-item { display: flex; gap: 6px; margin-bottom: 6px; align-items: flex-start; }
.amumo-ng .amumo-thumb { width: 72px; height: 72px; object-fit: contain; background: #eee; flex: none; }
.amumo-ng .amumo-thumb-missing { width: 72px; height: 72px; flex: none; display: flex; align-items: center;
  justify-content: center; font-size: 10px; color: #900; background: repeating-linear-gradient(45deg,#eee,#eee 6px,#ddd 6px,#ddd 12px); text-align: center; }
.amumo-ng .amumo-caption { word-break: break-word; }
.amumo-ng .amumo-progress { width: 80px; height: 6px; }
.amumo-ng button.amumo-active { background: #1f77b4; color: #fff; }
`;

export function injectStyle() {
  if (document.getElementById("amumo-ng-style")) return;
  const style = document.createElement("style");
  style.id = "amumo-ng-style";
  style.textContent = CSS;
  document.head.append(style);
}
