// Styles injected once per document (scoped by the .amumo-ng class).
const CSS = `
/* a light surface of its own: the colours below are for it, whatever the host's theme (a dark
   JupyterLab / Voila theme, VS Code's output background) puts behind the output */
.amumo-ng { font: 13px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; background: #fff; color-scheme: light; }
.amumo-ng input::placeholder { color: #767676; opacity: 1; }
.amumo-ng .amumo-title { font-weight: 600; font-size: 14px; margin: 2px 0 6px; }
.amumo-ng .amumo-error { color: #b00020; }
.amumo-ng .amumo-muted { color: #666; }
.amumo-ng .amumo-ellipsis, .amumo-ng .amumo-line { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.amumo-ng .amumo-line { font-size: 11px; line-height: 15px; }

/* the Explorer: its own width decides the layout (explorer.js); whatever cannot fit scrolls */
.amumo-host { min-width: 0; max-width: 100%; box-sizing: border-box; }
.widget-box > .amumo-host { flex: 1 1 0px; min-width: 524px; padding-right: 12px; }
.amumo-ng.amumo-explorer { overflow-x: auto; overflow-y: hidden; box-sizing: border-box; max-width: 100%; padding-bottom: 2px; }
.amumo-ng .amumo-main { display: flex; flex-direction: row; align-items: flex-start; gap: 14px; }
.amumo-ng .amumo-main.amumo-side-below { flex-direction: column; }
.amumo-ng .amumo-viewrow { display: flex; flex-direction: row; align-items: flex-start; gap: 14px; flex: none; }
.amumo-ng .amumo-viewrow.amumo-stacked { flex-direction: column; }
.amumo-ng .amumo-slot-view { position: relative; flex: none; overflow: hidden; box-sizing: content-box; }
.amumo-ng .amumo-scatter-slot .amumo-scatter-legend { height: 40px; overflow-y: auto; }
.amumo-ng .amumo-scatter-slot .amumo-scatter-bar { height: 46px; margin-top: 2px; overflow-y: auto; align-content: flex-start;
  row-gap: 2px; column-gap: 6px; }
.amumo-ng .amumo-scatter-slot .amumo-scatter-bar button { font-size: 12px; line-height: 16px; padding: 1px 5px; }

/* controls: three labelled groups, each on one row or wrapped as a unit */
.amumo-ng .amumo-controls { display: flex; flex-wrap: wrap; gap: 6px 8px; align-items: stretch; margin-bottom: 8px; }
.amumo-ng .amumo-group { flex: 1 1 auto; display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; min-width: 0; max-width: 100%;
  box-sizing: border-box; padding: 3px 8px 3px 6px; border: 1px solid #e2e2e2; border-radius: 4px; background: #fcfcfc; }
.amumo-ng .amumo-group-label { font-size: 10px; letter-spacing: 0.04em; text-transform: uppercase; color: #888; }
.amumo-ng .amumo-unit { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.amumo-ng .amumo-controls label { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
.amumo-ng .amumo-controls input[type=text] { width: 160px; padding: 2px 4px; }
.amumo-ng .amumo-controls select { max-width: 150px; }
.amumo-ng .amumo-count { display: inline-block; min-width: 96px; }
.amumo-ng .amumo-slot:empty { display: none; }
.amumo-ng .amumo-filter-msg { flex: 1 0 100%; contain: inline-size; box-sizing: border-box; height: 30px; overflow-y: auto; font-size: 11px;
  line-height: 14px; white-space: normal; overflow-wrap: anywhere; padding-left: 2px; }
.amumo-ng .amumo-filter-msg.amumo-stale { opacity: 0.55; }

/* side panel: gap readout and hover panel, right of the views or below them */
.amumo-ng .amumo-side { display: flex; flex-direction: column; gap: 8px; box-sizing: border-box; flex: none; min-width: 0; }
.amumo-ng .amumo-main.amumo-side-below .amumo-side { flex-direction: row; flex-wrap: wrap; align-self: stretch; max-width: 760px; }
.amumo-ng .amumo-side-readout { flex: none; max-width: 100%; overflow-x: auto; }
.amumo-ng .amumo-side-title { font-size: 10px; letter-spacing: 0.04em; text-transform: uppercase; color: #888; margin-bottom: 2px; }
.amumo-ng table.amumo-readout { border-collapse: collapse; font-size: 11px; font-variant-numeric: tabular-nums; }
.amumo-ng table.amumo-readout caption { caption-side: top; text-align: left; color: #666; padding-bottom: 2px; white-space: nowrap; }
.amumo-ng table.amumo-readout th, .amumo-ng table.amumo-readout td { padding: 1px 3px; text-align: right; white-space: nowrap; }
.amumo-ng table.amumo-readout thead th { color: #666; font-weight: normal; border-bottom: 1px solid #ddd; }
.amumo-ng table.amumo-readout tbody th { text-align: left; font-weight: normal; color: #444; }
.amumo-ng table.amumo-readout tr.amumo-current { background: #e8f1fa; }
.amumo-ng table.amumo-readout tr.amumo-current th { font-weight: 600; color: #222; }
.amumo-ng table.amumo-readout td.amumo-mark { color: #1f77b4; padding: 1px 2px; }
.amumo-ng table.amumo-readout[data-pending=true] td { color: #999; }
.amumo-ng .amumo-side .amumo-hover { width: auto; min-height: 0; flex: 1 1 auto; overflow: auto; box-sizing: border-box; }
.amumo-ng .amumo-main.amumo-side-below .amumo-side .amumo-hover { min-width: 220px; }

/* the heatmap: a slot of fixed size (heatmap-render.js places every part) */
.amumo-ng .amumo-heatmap { position: relative; flex: none; overflow: hidden; }
.amumo-ng .amumo-heatmap-area { position: relative; }
.amumo-ng canvas.amumo-heat { display: block; image-rendering: pixelated; cursor: crosshair; background: #eee; }
.amumo-ng canvas.amumo-overlay { position: absolute; left: 0; top: 0; pointer-events: none; }
.amumo-ng canvas.amumo-band { display: block; }
.amumo-ng .amumo-empty { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  color: #666; background: #f6f6f6; border: 1px dashed #bbb; text-align: center; padding: 8px; box-sizing: border-box; }
.amumo-ng .amumo-axis { position: absolute; top: 0; font-size: 11px; line-height: 14px; color: #444; white-space: nowrap; transform: translateX(-50%); }
.amumo-ng .amumo-axis.amumo-axis-v { top: auto; left: 1px; writing-mode: vertical-rl; transform: translateY(-50%) rotate(180deg); }
.amumo-ng .amumo-ticks { overflow: visible; }
.amumo-ng .amumo-tick { position: absolute; top: 0; font-size: 10px; line-height: 12px; white-space: nowrap; font-variant-numeric: tabular-nums; }
.amumo-ng .amumo-legend { display: flex; align-items: center; gap: 4px; font-size: 11px; line-height: 16px; white-space: nowrap; overflow: hidden; }
.amumo-ng canvas.amumo-heat-ramp { width: 120px; min-width: 40px; flex: 0 1 120px; height: 10px; image-rendering: pixelated; border: 1px solid #ccc; }
.amumo-ng .amumo-legend-num { font-variant-numeric: tabular-nums; }

/* the scatter (its plot and bar come from scatter.js) */
.amumo-ng .amumo-scatter { position: relative; display: inline-block; border: 1px solid #ddd; background: #fff; }
.amumo-ng .amumo-scatter canvas { display: block; }
.amumo-ng .amumo-scatter-bar { display: flex; gap: 10px; align-items: center; font-size: 12px; margin-top: 4px; flex-wrap: wrap; }
/* the projection's status, progress and note are drawn on the plot (busy-overlay.js) */
.amumo-ng .amumo-scatter-bar > [data-amumo=projection-status], .amumo-ng .amumo-scatter-bar > [data-amumo=projection-note],
.amumo-ng .amumo-scatter-bar > progress.amumo-progress { display: none; }
.amumo-ng .amumo-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 3px; }

/* a status layer ON a busy view (busy-overlay.js) */
.amumo-ng .amumo-busy { position: absolute; left: 0; top: 0; width: 100%; height: 100%; pointer-events: none; z-index: 2; }
.amumo-ng .amumo-busy-over { box-sizing: border-box; }
.amumo-ng .amumo-busy-dim { position: absolute; inset: 0; background: rgba(255,255,255,0.45); display: none; }
.amumo-ng .amumo-busy-banner { position: absolute; left: 0; right: 0; top: 0; display: none; align-items: center; gap: 6px;
  padding: 4px 6px; background: rgba(255,255,255,0.92); border-bottom: 1px solid #ddd; font-size: 11px; line-height: 16px;
  pointer-events: auto; box-sizing: border-box; }
.amumo-ng .amumo-busy-on .amumo-busy-dim { display: block; }
.amumo-ng .amumo-busy-on .amumo-busy-banner { display: flex; }
.amumo-ng .amumo-busy-text { flex: 1 1 auto; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.amumo-ng progress.amumo-busy-progress { flex: 0 0 64px; width: 64px; height: 6px; }
.amumo-ng button.amumo-busy-cancel { flex: none; font-size: 11px; padding: 0 6px; line-height: 16px; }
.amumo-ng .amumo-view-note { position: absolute; left: 4px; right: 4px; bottom: 3px; font-size: 11px; line-height: 14px; color: #777;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.amumo-ng .amumo-view-note.amumo-error { color: #b00020; }

/* hover panel (hoverpanel.js) */
.amumo-ng .amumo-hover { width: 220px; min-height: 120px; border: 1px solid #ddd; padding: 6px; background: #fafafa; }
.amumo-ng .amumo-hover-item { display: flex; gap: 6px; margin-bottom: 6px; align-items: flex-start; }
.amumo-ng .amumo-thumb { width: 72px; height: 72px; object-fit: contain; background: #eee; flex: none; }
.amumo-ng .amumo-thumb-missing { width: 72px; height: 72px; flex: none; display: flex; align-items: center;
  justify-content: center; font-size: 10px; color: #900; background: repeating-linear-gradient(45deg,#eee,#eee 6px,#ddd 6px,#ddd 12px); text-align: center; }
.amumo-ng .amumo-caption { word-break: break-word; }

/* interpolation and prompt search (hover-actions.js, scatter-marks.js, heatmap-marks.js, prompt-box.js) */
.amumo-ng .amumo-hover-actions { margin-bottom: 4px; padding-bottom: 3px; border-bottom: 1px solid #e6e6e6; }
.amumo-ng .amumo-hover-buttons { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; }
.amumo-ng .amumo-hover-buttons button { font-size: 11px; line-height: 15px; padding: 0 5px; }
.amumo-ng .amumo-marks-note { position: absolute; left: 4px; right: 4px; top: 3px; font-size: 11px; line-height: 14px; color: #555;
  background: rgba(255,255,255,0.85); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; pointer-events: none; z-index: 1; }
.amumo-ng .amumo-prompt { flex: none; border: 1px solid #ddd; padding: 4px 6px; background: #fcfcfc; min-width: 0; }
.amumo-ng .amumo-main.amumo-side-below .amumo-side .amumo-prompt { min-width: 230px; }
.amumo-ng .amumo-prompt-row { display: flex; gap: 4px; align-items: center; }
.amumo-ng .amumo-prompt-row input[type=text] { flex: 1 1 auto; min-width: 60px; padding: 1px 4px; }
.amumo-ng .amumo-prompt-row input[type=number] { width: 38px; }
.amumo-ng .amumo-prompt-row button { font-size: 11px; padding: 0 5px; line-height: 16px; }
.amumo-ng .amumo-prompt-hits { max-height: 118px; overflow-y: auto; font-size: 11px; line-height: 14px; }
.amumo-ng .amumo-prompt-hit { display: flex; gap: 4px; cursor: pointer; white-space: nowrap; }
.amumo-ng .amumo-prompt-hit:hover { background: #eef; }
.amumo-ng .amumo-prompt-hit .amumo-ellipsis { flex: 1 1 auto; min-width: 0; }
/* the outlier list (outlier-list.js): a box of fixed height, its entries scroll */
.amumo-ng .amumo-outliers .amumo-prompt-row select { flex: 1 1 auto; min-width: 0; font-size: 11px; }
.amumo-ng .amumo-outlier-entries { height: 84px; overflow-y: auto; font-size: 11px; line-height: 14px; }
.amumo-ng .amumo-outlier-entry.amumo-active-entry { background: #dde6f6; }

/* the standalone heatmap and scatter widgets */
.amumo-ng.amumo-views, .amumo-ng .amumo-views { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
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
