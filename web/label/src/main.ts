/** The labeling app's shell: token handling, header (progress, annotator), and the three views by URL hash. */
import './style.css';
import { adoptTokenFromUrl, api, ApiError, token, type ProjectInfo } from './api.js';
import { GridView } from './grid-view.js';
import { LabelView } from './label-view.js';
import { OverviewView } from './overview-view.js';

interface View {
  el: HTMLElement;
  mount(): Promise<void>;
  unmount(): void;
}

const app = document.getElementById('app')!;
let project: ProjectInfo;
let view: View | null = null;
let labelView: LabelView | null = null;
let toastTimer = 0;

function toast(text: string, kind: 'error' | 'info' = 'info'): void {
  const t = document.getElementById('toast')!;
  t.textContent = text;
  t.className = `toast ${kind}`;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (t.hidden = true), kind === 'error' ? 5000 : 1200);
}

async function refreshProject(): Promise<void> {
  project = await api.project();
  document.getElementById('project-name')!.textContent = project.name;
  const { labeled, target } = project.stats;
  (document.getElementById('progress-bar') as HTMLElement).style.width = `${Math.min(100, (100 * labeled) / Math.max(1, target))}%`;
  document.getElementById('progress-text')!.textContent = `${labeled} / ${target} labeled`;
  const m = project.model;
  const acc = m.last?.holdoutAccuracy;
  document.getElementById('who')!.innerHTML =
    `<span class="model" title="light model">${m.embeddings === null ? 'no model (no embeddings)' : m.running ? '⟳ retraining…' : acc !== null && acc !== undefined ? `model ${(100 * acc).toFixed(0)}% held-out` : 'model: not trained yet'}</span>` +
    (project.annotator ? `<span class="me">${project.annotator}</span>` : '<span class="me muted">read-only</span>');
}

function tokenForm(message: string): void {
  app.innerHTML = `<form class="token-form"><h2>Annotator token</h2><p>${message}</p>
    <input type="text" name="token" placeholder="paste your token" autocomplete="off" size="40">
    <button type="submit">Continue</button>
    <p class="muted">Get one with <code>ulearn label add-annotator &lt;name&gt; --project &lt;dir&gt;</code>.</p></form>`;
  app.querySelector('form')!.addEventListener('submit', (e) => {
    e.preventDefault();
    token.set((app.querySelector('input') as HTMLInputElement).value.trim());
    void start();
  });
}

async function route(): Promise<void> {
  const name = location.hash.replace('#', '') || 'label';
  view?.unmount();
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', (a as HTMLElement).dataset.view === name));
  if (name === 'grid') {
    view = new GridView((id) => {
      location.hash = '#label';
      pendingShow = id;
    });
  } else if (name === 'overview') view = new OverviewView();
  else view = labelView = new LabelView({ project: () => project, refreshProject, toast });
  app.replaceChildren(view.el);
  await view.mount();
  if (view === labelView && pendingShow !== null) {
    await labelView.show(pendingShow);
    pendingShow = null;
  }
}
let pendingShow: number | null = null;

async function start(): Promise<void> {
  try {
    await refreshProject();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return tokenForm(token.get() ? 'That token is not valid for this project.' : 'This server needs an annotator token.');
    throw err;
  }
  if (!project.annotator) {
    if (token.get()) return tokenForm('That token is not valid for this project.');
    return tokenForm('Labeling needs an annotator token (reading works without one).');
  }
  window.onhashchange = () => void route().catch((e: unknown) => toast(String(e), 'error'));
  await route();
  window.setInterval(() => void refreshProject().catch(() => undefined), 5000);
}

adoptTokenFromUrl();
token.sync();
void start().catch((err: unknown) => toast(err instanceof Error ? err.message : String(err), 'error'));
