/**
 * The report's inline stylesheet. System font stack only (a web font would need a network fetch or a large
 * base64 blob), light colour scheme pinned so a dark-mode browser does not invert text but not the charts.
 */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #111827; --ink2: #4b5563; --ink3: #6b7280; --line: #e5e7eb; --bg: #f6f7f9; --card: #fff; --accent: #2563eb; --good: #047857; --bad: #b91c1c; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; color: var(--ink); -webkit-font-smoothing: antialiased; }
main { max-width: 1040px; margin: 0 auto; padding: 40px 24px 56px; }
header { margin-bottom: 24px; }
.kicker { font-size: 12px; font-weight: 600; letter-spacing: .08em; text-transform: uppercase; color: var(--accent); }
h1 { font-size: 30px; line-height: 1.2; margin: 6px 0 16px; letter-spacing: -.01em; }
h2 { font-size: 18px; margin: 0 0 4px; }
.meta { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, max-content)); gap: 8px 28px; margin: 0; padding: 14px 20px; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
@media (max-width: 760px) { .meta { grid-template-columns: 1fr 1fr; } }
.meta div { min-width: 0; }
.meta dt { font-size: 11px; font-weight: 600; letter-spacing: .06em; text-transform: uppercase; color: var(--ink3); }
.meta dd { margin: 0; font-weight: 500; overflow-wrap: anywhere; }
.headline { font-size: 21px; line-height: 1.45; margin: 0 0 24px; padding: 18px 22px; background: #eff6ff; border: 1px solid #dbeafe; border-left: 4px solid var(--accent); border-radius: 10px; }
.headline strong { font-weight: 650; }
.verdict { margin: -12px 0 24px; padding: 14px 22px; background: #fef2f2; border: 1px solid #fecaca; border-left: 4px solid var(--bad); border-radius: 10px; }
.chosen { font-size: 12px; padding: 1px 6px; border-radius: 6px; background: #eff6ff; color: var(--accent); font-weight: 600; }
.nw { white-space: nowrap; }
.delta-up { color: var(--good); font-weight: 650; white-space: nowrap; }
.delta-down { color: var(--bad); font-weight: 650; white-space: nowrap; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 22px 24px 24px; margin-bottom: 22px; }
.sub { color: var(--ink2); margin: 0 0 16px; font-size: 14px; }
.chart { display: block; max-width: 100%; height: auto; margin: 6px 0 4px; }
.chart text { font-family: inherit; fill: var(--ink2); }
.chart .tick { font-size: 12px; font-variant-numeric: tabular-nums; }
.chart .axis-label { font-size: 12px; fill: var(--ink3); }
.chart .panel-title { font-size: 13px; font-weight: 600; fill: var(--ink); }
.chart .panel-note { font-size: 12px; fill: var(--ink3); font-variant-numeric: tabular-nums; }
.chart .bar-label { font-size: 13px; fill: var(--ink); }
.chart .bar-label.strong { font-weight: 600; }
.chart text.cell { fill: var(--ink); font-variant-numeric: tabular-nums; }
.chart text.cell.on-dark { fill: #fff; }
.chart text.cell.diag { font-weight: 600; }
.chart .bar-value { font-size: 13px; font-weight: 600; fill: var(--ink); font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-size: 12px; font-weight: 600; color: var(--ink3); text-transform: uppercase; letter-spacing: .04em; border-bottom-color: #d1d5db; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.notes { color: var(--ink2); font-size: 13px; }
tr:last-child td { border-bottom: none; }
td.bar { background-image: linear-gradient(90deg, #93c5fd var(--w), #eef2f7 var(--w)); background-repeat: no-repeat; background-size: calc(100% - 20px) 4px; background-position: 10px calc(100% - 3px); }
td.best { font-weight: 650; }
td.missing { color: var(--ink3); }
.class-name { overflow-wrap: anywhere; }
.table-wrap { margin-top: 18px; }
.specs { display: flex; flex-wrap: wrap; gap: 14px; }
.spec { margin: 0; }
.spec img { display: block; image-rendering: pixelated; border-radius: 3px; }
.spec figcaption { font-size: 12px; margin-top: 4px; }
.spec figcaption span { color: #6b7280; }
.embed { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
.embed .chart { flex: 0 1 640px; margin: 0; }
.legend { list-style: none; margin: 0; padding: 0; flex: 1 1 220px; min-width: 0; font-size: 13px; }
.legend.two-col { columns: 2; column-gap: 20px; }
.legend li { display: flex; align-items: center; gap: 8px; padding: 3px 0; break-inside: avoid; }
.swatch { width: 11px; height: 11px; border-radius: 50%; flex: none; }
.legend-name { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.legend-count { color: var(--ink3); font-variant-numeric: tabular-nums; }
.empty { color: var(--ink3); font-style: italic; }
footer { color: var(--ink3); font-size: 13px; text-align: center; margin-top: 8px; }
@media print { html { background: #fff; } section.card { break-inside: avoid; } }
`;
