/**
 * Progress for long loops (epochs, embedding passes). On a terminal: one line redrawn in place. Anywhere
 * else (CI logs, `> file`, `| tee`): plain lines at most every `intervalMs`, because a `\r`-animated bar
 * turns a log file into megabytes of garbage.
 *
 * A loop that stops at `total` items or when its budget runs out, whichever comes first, shows progress
 * against the one that will stop it: at a steady rate that is the larger of the two fractions done, so the
 * bar reads "43% of budget" during a 10-minute run capped at 23,400 steps it will never reach, not "0% 54/23400".
 */
import type { Budget } from './budget.js';
import { formatDuration } from './duration.js';

/** What Progress needs from a stream; both `process.stderr` and a plain `Writable` fit. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Default: process.stderr, so progress never mixes into machine-readable stdout. */
  stream?: ProgressStream;
  /** Default: the stream's own isTTY. */
  isTTY?: boolean;
  /** Non-TTY: minimum time between log lines. Default 10 s. */
  intervalMs?: number;
  /** TTY: minimum time between redraws (redrawing every batch costs more than the batch on fast loops). Default 100 ms. */
  redrawMs?: number;
  /** Time constant of the rate's moving average. Default 5 s: smooths batch jitter, still follows a slow-down. */
  smoothingMs?: number;
  now?: () => number;
  /** The budget that also stops the loop: the bar and ETA follow it when it will end the work before `total`. */
  budget?: Budget;
}

export type ProgressInfo = Record<string, string | number>;

const CLEAR_LINE = '\r\x1b[K';
const BAR_WIDTH = 20;
// Ticks closer together than this are pooled into one rate sample; dividing by ~0 ms makes rates explode.
const MIN_SAMPLE_MS = 50;

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly redrawMs: number;
  private readonly smoothingMs: number;
  private readonly now: () => number;
  private readonly startAt: number;
  private count = 0;
  private info: ProgressInfo = {};
  /** Items per second, exponential moving average; undefined until the first sample. */
  private rate: number | undefined;
  private sampleAt: number;
  /** Count at the last rate sample. */
  private sampledCount = 0;
  private lastOutputAt: number;
  private barShown = false;
  private finished = false;
  private readonly budget: Budget | undefined;

  constructor(
    readonly label: string,
    readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.isTTY ?? this.stream.isTTY === true;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.redrawMs = opts.redrawMs ?? 100;
    this.smoothingMs = opts.smoothingMs ?? 5_000;
    this.now = opts.now ?? Date.now;
    this.startAt = this.sampleAt = this.lastOutputAt = this.now();
    this.budget = opts.budget && !opts.budget.unlimited ? opts.budget : undefined;
  }

  /** Counts `n` more items done; `info` fields (e.g. { loss: 1.234, knn: '71.2%' }) replace earlier values. */
  tick(n = 1, info?: ProgressInfo): void {
    if (this.finished) return;
    this.count += n;
    if (info) this.info = { ...this.info, ...info };
    const t = this.now();
    this.sample(t);
    const complete = this.total > 0 && this.count >= this.total;
    if (this.tty) {
      if (complete || t - this.lastOutputAt >= this.redrawMs || !this.barShown) this.draw(t);
    } else if (t - this.lastOutputAt >= this.intervalMs) {
      this.stream.write(this.line(false) + '\n');
      this.lastOutputAt = t;
    }
  }

  /** Prints a message on its own line; on a TTY the bar is cleared first and redrawn below it. */
  log(message: string): void {
    if (this.tty && this.barShown) {
      this.stream.write(CLEAR_LINE + message + '\n');
      this.barShown = false;
      if (!this.finished) this.draw(this.now());
    } else {
      this.stream.write(message + '\n');
    }
  }

  /** Final line (always printed, TTY or not): count, elapsed time, average rate, last info and `summary`. */
  done(summary?: string): void {
    if (this.finished) return;
    this.finished = true;
    const elapsed = this.now() - this.startAt;
    const avg = elapsed > 0 ? (this.count * 1000) / elapsed : undefined;
    const parts = [this.label, 'done', this.countText(), `in ${formatDuration(elapsed)}`];
    if (avg !== undefined) parts.push(`(${formatRate(avg)})`);
    parts.push(...infoText(this.info));
    if (summary) parts.push(summary);
    this.stream.write((this.tty ? CLEAR_LINE : '') + parts.join(' ') + '\n');
    this.barShown = false;
  }

  /** Remaining time from the smoothed rate; Infinity while the rate is unknown. */
  etaMs(): number {
    if (this.total > 0 && this.count >= this.total) return 0;
    const untilDeadline = this.budget ? this.budget.remainingMs() : Infinity;
    if (!(this.total > 0) || !this.rate) return untilDeadline;
    return Math.min(((this.total - this.count) / this.rate) * 1000, untilDeadline);
  }

  private sample(t: number): void {
    // Time-weighted EMA: the weight depends on elapsed time, not on the number of ticks, so the ETA behaves
    // the same whether the caller ticks per batch or per epoch.
    const dt = t - this.sampleAt;
    if (dt < MIN_SAMPLE_MS) return;
    const instant = ((this.count - this.sampledCount) * 1000) / dt;
    const alpha = 1 - Math.exp(-dt / this.smoothingMs);
    this.rate = this.rate === undefined ? instant : this.rate + alpha * (instant - this.rate);
    this.sampleAt = t;
    this.sampledCount = this.count;
  }

  private draw(t: number): void {
    let text = this.line(true);
    // A line wider than the terminal wraps, and `\r` then only rewinds the last row: the bar smears.
    const cols = this.stream.columns;
    if (cols && text.length >= cols) text = text.slice(0, cols - 1);
    this.stream.write(CLEAR_LINE + text);
    this.barShown = true;
    this.lastOutputAt = t;
  }

  /** Share done, of the count or of the budget, whichever is further along (undefined: nothing to be a share of). */
  fraction(): { done: number; byBudget: boolean } | undefined {
    const byCount = this.total > 0 ? Math.min(1, this.count / this.total) : undefined;
    const byBudget = this.budget?.fraction();
    if (byBudget !== undefined && (byCount === undefined || byBudget > byCount)) return { done: byBudget, byBudget: true };
    return byCount === undefined ? undefined : { done: byCount, byBudget: false };
  }

  private line(withBar: boolean): string {
    const parts = [this.label];
    const frac = this.fraction();
    if (frac) {
      if (withBar) {
        const filled = Math.round(frac.done * BAR_WIDTH);
        parts.push(`[${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}]`);
      }
      // Floor, so 100% means finished rather than 99.6%.
      parts.push(`${Math.floor(frac.done * 100)}%${frac.byBudget ? ' of budget' : ''}`);
    }
    parts.push(this.countText());
    if (this.rate !== undefined) parts.push(formatRate(this.rate));
    if (frac) parts.push(`ETA ${formatDuration(this.etaMs())}`);
    parts.push(...infoText(this.info));
    return parts.join(' ');
  }

  private countText(): string {
    return this.total > 0 ? `${this.count}/${this.total}` : String(this.count);
  }
}

function formatRate(perS: number): string {
  const digits = perS >= 100 ? 0 : perS >= 10 ? 1 : 2;
  return `${perS.toFixed(digits)}/s`;
}

function infoText(info: ProgressInfo): string[] {
  return Object.entries(info).map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : v}`);
}

/** 4 significant digits for small values (losses), no exponent notation for large ones. */
function formatNumber(v: number): string {
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  return String(Number(v.toPrecision(4)));
}
