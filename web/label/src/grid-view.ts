/** A grid of samples (all, labeled or unlabeled) with their label or the model's suggestion; click one to label it. */
import { api, type SampleView } from './api.js';
import { esc } from './label-view.js';

const PAGE = 60;

export class GridView {
  readonly el = document.createElement('section');
  private offset = 0;
  private filter: 'all' | 'labeled' | 'unlabeled' = 'unlabeled';

  constructor(private readonly open: (id: number) => void) {
    this.el.className = 'grid-view';
  }

  async mount(): Promise<void> {
    await this.load();
  }

  unmount(): void {}

  private async load(): Promise<void> {
    const { total, samples } = await api.samples(this.offset, PAGE, this.filter);
    this.el.innerHTML = '';
    const bar = document.createElement('div');
    bar.className = 'grid-bar';
    for (const f of ['unlabeled', 'labeled', 'all'] as const) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = f;
      b.className = f === this.filter ? 'selected' : '';
      b.addEventListener('click', () => {
        this.filter = f;
        this.offset = 0;
        void this.load();
      });
      bar.append(b);
    }
    const pager = document.createElement('span');
    pager.className = 'pager';
    const prev = document.createElement('button');
    prev.textContent = '‹ prev';
    prev.disabled = this.offset === 0;
    prev.addEventListener('click', () => ((this.offset = Math.max(0, this.offset - PAGE)), void this.load()));
    const next = document.createElement('button');
    next.textContent = 'next ›';
    next.disabled = samples.length < PAGE;
    next.addEventListener('click', () => ((this.offset += PAGE), void this.load()));
    pager.append(prev, ` ${this.offset + 1}–${this.offset + samples.length} of ${total} `, next);
    bar.append(pager);
    const grid = document.createElement('div');
    grid.className = 'grid';
    for (const s of samples) grid.append(this.tile(s));
    this.el.append(bar, grid);
  }

  private tile(s: SampleView): HTMLElement {
    const t = document.createElement('button');
    t.type = 'button';
    t.className = 'tile' + (s.label ? ' labeled' : '');
    const what = s.label ? `<b>${esc(s.label)}</b>` : s.suggestion ? `<span class="muted">${esc(s.suggestion.label)} ${(100 * s.suggestion.confidence).toFixed(0)}%</span>` : '<span class="muted">—</span>';
    t.innerHTML = (s.kind === 'image' ? `<img src="${s.media}" alt="" loading="lazy">` : '<div class="audio-tile">♪</div>') + `<span class="tile-label">${what}</span>`;
    t.addEventListener('click', () => this.open(s.id));
    return t;
  }
}
