/**
 * One sample at a time. Keys: 1–9 (and 0 for a 10th class) label with that class, Enter accepts the pre-selected class (the model's
 * suggestion), ↑/↓ move the selection, ← goes back to the previous sample, → / s skip, u undo, space plays
 * audio. Key presses are processed strictly in order (a chain of promises), so fast typing never drops or
 * reorders a label; each label is shown as saved only after the server acknowledged it.
 */
import { api, ApiError, type ProjectInfo, type SampleView } from './api.js';
import { audioPlayer, imageViewer, type MediaHandle } from './media.js';

export interface LabelViewDeps {
  project: () => ProjectInfo;
  refreshProject: () => Promise<void>;
  toast: (text: string, kind?: 'error' | 'info') => void;
}

export class LabelView {
  readonly el = document.createElement('section');
  private queue: SampleView[] = [];
  private current: SampleView | null = null;
  private back: SampleView[] = [];
  private recent: { sample: SampleView; label: string }[] = [];
  private skipped = new Set<number>();
  private selected = 0;
  private media: MediaHandle | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly onKey = (e: KeyboardEvent) => this.key(e);

  constructor(private readonly deps: LabelViewDeps) {
    this.el.className = 'label-view';
  }

  async mount(): Promise<void> {
    document.addEventListener('keydown', this.onKey);
    await this.refill();
    this.advance();
  }

  unmount(): void {
    document.removeEventListener('keydown', this.onKey);
    this.media?.dispose();
  }

  /** Shows a given sample now (from the grid), keeping the queue behind it. */
  async show(id: number): Promise<void> {
    const s = await api.sample(id);
    if (this.current) this.queue.unshift(this.current);
    this.setCurrent(s);
  }

  private get classes(): string[] {
    return this.deps.project().classes;
  }

  private key(e: KeyboardEvent): void {
    if (e.ctrlKey || e.metaKey || e.altKey || (e.target instanceof HTMLInputElement && e.target.type === 'text')) return;
    const k = e.key;
    let action: (() => Promise<void>) | undefined;
    if (/^[0-9]$/.test(k) && (Number(k) || 10) <= this.classes.length) action = () => this.label((Number(k) || 10) - 1);
    else if (k === 'Enter') action = () => this.label(this.selected);
    else if (k === 'u' || k === 'U') action = () => this.undo();
    else if (k === 's' || k === 'S' || k === 'ArrowRight') action = async () => this.skip();
    else if (k === 'ArrowLeft') action = async () => this.goBack();
    else if (k === 'ArrowDown' || k === 'ArrowUp') {
      e.preventDefault();
      this.selected = (this.selected + (k === 'ArrowDown' ? 1 : this.classes.length - 1)) % this.classes.length;
      this.renderPanel();
      return;
    } else if (k === ' ') {
      e.preventDefault();
      this.media?.toggle();
      return;
    }
    if (!action) return;
    e.preventDefault();
    this.chain = this.chain.then(action).catch((err: unknown) => this.deps.toast(err instanceof Error ? err.message : String(err), 'error'));
  }

  private async refill(): Promise<void> {
    if (this.queue.length >= 5) return;
    const exclude = [...this.skipped, ...this.queue.map((s) => s.id), ...(this.current ? [this.current.id] : [])];
    const { samples } = await api.queue(20, exclude);
    this.queue.push(...samples.filter((s) => !exclude.includes(s.id)));
  }

  private advance(): void {
    this.setCurrent(this.queue.shift() ?? null);
    void this.refill().catch(() => undefined);
  }

  private setCurrent(s: SampleView | null): void {
    this.current = s;
    this.selected = s ? Math.max(0, this.classes.indexOf(s.label ?? s.suggestion?.label ?? '')) : 0;
    this.render();
  }

  private async label(cls: number): Promise<void> {
    const s = this.current;
    if (!s) return;
    const name = this.classes[cls];
    this.selected = cls;
    this.renderPanel(true);
    await api.label(s.id, name);
    this.recent.unshift({ sample: s, label: name });
    this.recent = this.recent.slice(0, 8);
    this.back.push({ ...s, label: name });
    this.deps.toast(`saved: ${name}`);
    await this.refill();
    this.advance();
    void this.deps.refreshProject().then(() => this.renderPanel());
  }

  private async undo(): Promise<void> {
    try {
      const r = await api.undo();
      const s = await api.sample(r.sampleId);
      const at = this.recent.findIndex((x) => x.sample.id === r.sampleId);
      if (at >= 0) this.recent.splice(at, 1);
      this.back = this.back.filter((x) => x.id !== r.sampleId);
      if (this.current && this.current.id !== s.id) this.queue.unshift(this.current);
      this.deps.toast(`undone: sample ${s.id} is ${s.label ?? 'unlabeled'} again`);
      this.setCurrent(s);
      void this.deps.refreshProject().then(() => this.renderPanel());
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) this.deps.toast(err.message, 'error');
      else throw err;
    }
  }

  private skip(): void {
    if (!this.current) return;
    this.skipped.add(this.current.id);
    this.advance();
  }

  private goBack(): void {
    const prev = this.back.pop();
    if (!prev) return;
    if (this.current) this.queue.unshift(this.current);
    this.setCurrent(prev);
  }

  private render(): void {
    this.media?.dispose();
    this.el.replaceChildren();
    const s = this.current;
    const stage = document.createElement('div');
    stage.className = 'stage';
    if (!s) {
      stage.innerHTML = '<div class="done">Nothing left to label. 🎉</div>';
      this.media = null;
    } else {
      this.media = s.kind === 'audio' ? audioPlayer(s.media) : imageViewer(s.media, s.file);
      const cap = document.createElement('div');
      cap.className = 'caption';
      cap.textContent = `#${s.id} · ${s.file}${s.label ? ` · currently ${s.label}` : ''}${s.secondOpinion ? ' · second opinion (labeled by someone else; their label is hidden)' : ''}`;
      stage.append(this.media.el, cap);
    }
    const panel = document.createElement('aside');
    panel.className = 'panel';
    this.el.append(stage, panel);
    this.renderPanel();
  }

  private renderPanel(saving = false): void {
    const panel = this.el.querySelector('aside.panel');
    if (!panel) return;
    const p = this.deps.project();
    const s = this.current;
    const sug = s?.suggestion;
    const max = Math.max(1, ...p.stats.perClass);
    panel.innerHTML = '';
    const head = document.createElement('div');
    head.className = 'suggestion';
    head.innerHTML = sug
      ? `model suggests <b>${esc(sug.label)}</b> <span class="conf">${(sug.confidence * 100).toFixed(0)}%</span>`
      : p.model.embeddings === null
        ? '<span class="muted">no suggestions: this project has no embeddings (it mixes images and audio)</span>'
        : `<span class="muted">no suggestion yet (the model trains after every ${p.model.retrainEvery} labels)</span>`;
    const list = document.createElement('ol');
    list.className = 'classes';
    this.classes.forEach((c, i) => {
      const li = document.createElement('li');
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'class' + (i === this.selected ? ' selected' : '') + (saving && i === this.selected ? ' saving' : '');
      btn.dataset.class = c;
      btn.innerHTML = `<kbd>${i < 9 ? i + 1 : i === 9 ? 0 : ''}</kbd><span class="name">${esc(c)}</span><span class="bar"><i></i></span><span class="count">${p.stats.perClass[i]}</span>`;
      // Set through the DOM, not a style attribute: the server's CSP refuses inline styles.
      btn.querySelector<HTMLElement>('.bar i')!.style.width = `${(100 * p.stats.perClass[i]) / max}%`;
      btn.addEventListener('click', () => {
        this.chain = this.chain.then(() => this.label(i)).catch((err: unknown) => this.deps.toast(String(err), 'error'));
      });
      li.append(btn);
      list.append(li);
    });
    const keys = document.createElement('div');
    keys.className = 'keys';
    keys.innerHTML = '<kbd>1</kbd>–<kbd>9</kbd> label · <kbd>Enter</kbd> accept selected · <kbd>↑</kbd><kbd>↓</kbd> select · <kbd>←</kbd> back · <kbd>→</kbd>/<kbd>s</kbd> skip · <kbd>u</kbd> undo';
    const recent = document.createElement('ul');
    recent.className = 'recent';
    recent.innerHTML = '<li class="muted">recent</li>' + this.recent.map((r) => `<li data-sample="${r.sample.id}">#${r.sample.id} → ${esc(r.label)}</li>`).join('');
    panel.append(head, list, keys, recent);
  }
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
