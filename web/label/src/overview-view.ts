/** Label distribution, annotators and their agreement, the light model's history and held-out accuracy, exports. */
import { api } from './api.js';
import { esc } from './label-view.js';

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)}%`);

export class OverviewView {
  readonly el = document.createElement('section');

  constructor() {
    this.el.className = 'overview-view';
  }

  async mount(): Promise<void> {
    const o = await api.overview();
    const max = Math.max(1, ...o.stats.perClass);
    const last = o.modelRuns.filter((r) => !r.error).at(-1);
    const dist = o.classes
      .map((c, i) => `<tr><td>${esc(c)}</td><td class="barcell"><span class="hbar" data-width="${(100 * o.stats.perClass[i]) / max}"></span></td><td class="num">${o.stats.perClass[i]}</td></tr>`)
      .join('');
    const pairs = o.agreement.pairs
      .map((p) => `<tr><td>${esc(p.a)} / ${esc(p.b)}</td><td class="num">${p.shared}</td><td class="num">${pct(p.agreement)}</td><td class="num">${p.kappa === null ? '—' : p.kappa.toFixed(2)}</td></tr>`)
      .join('');
    const runs = o.modelRuns
      .slice(-10)
      .reverse()
      .map(
        (r) =>
          `<tr><td>${new Date(r.createdAt).toLocaleTimeString()}</td><td>${esc(r.kind)}</td><td>${esc(r.strategy)}</td><td class="num">${r.trainLabels}</td><td class="num">${r.holdoutLabels}</td><td class="num">${pct(r.holdoutAccuracy)}</td><td class="num">${r.seconds.toFixed(1)} s</td><td>${r.error ? esc(r.error) : ''}</td></tr>`,
      )
      .join('');
    this.el.innerHTML = `
      <div class="cards">
        <div class="card"><div class="big">${o.stats.labeled}</div><div>labeled of ${o.stats.total} (target ${o.stats.target})</div></div>
        <div class="card"><div class="big">${pct(last?.holdoutAccuracy)}</div><div>model accuracy on ${last?.holdoutLabels ?? 0} held-out labels</div></div>
        <div class="card"><div class="big">${pct(o.agreement.overall)}</div><div>annotator agreement on ${o.agreement.multiplyLabeled} shared samples</div></div>
        <div class="card"><div class="big">${o.stats.events}</div><div>label events (undo included)</div></div>
      </div>
      <div class="cols">
        <div><h2>Label distribution</h2><table class="dist">${dist}</table></div>
        <div>
          <h2>Annotators</h2>
          <table><tr><th>name</th><th class="num">labels</th></tr>${o.annotators.map((a) => `<tr><td>${esc(a.name)}</td><td class="num">${a.labels}</td></tr>`).join('')}</table>
          <h2>Agreement</h2>
          ${pairs ? `<table><tr><th>pair</th><th class="num">shared</th><th class="num">agree</th><th class="num">κ</th></tr>${pairs}</table>` : '<p class="muted">no sample has labels from two annotators yet</p>'}
          <h2>Export</h2>
          <p><a href="/api/export?format=csv" data-export>CSV</a> · <a href="/api/export?format=json" data-export>JSON</a> · <a href="/api/export?format=jsonl" data-export>JSONL events</a></p>
        </div>
      </div>
      <h2>Light model runs</h2>
      ${runs ? `<table><tr><th>time</th><th>model</th><th>strategy</th><th class="num">train labels</th><th class="num">held out</th><th class="num">accuracy</th><th class="num">took</th><th></th></tr>${runs}</table>` : '<p class="muted">no run yet</p>'}
      <p class="muted">Accuracy is measured on a fixed fifth of the labeled samples that the model never trains on.</p>`;
    // Bar widths through the DOM, not style attributes: the server's CSP refuses inline styles.
    this.el.querySelectorAll<HTMLElement>('.hbar[data-width]').forEach((bar) => (bar.style.width = `${bar.dataset.width}%`));
  }

  unmount(): void {}
}
