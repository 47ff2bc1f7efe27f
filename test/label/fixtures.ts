/**
 * Small labeling projects for the tests: a folder of tiny PNGs (two visually distinct groups: dark and
 * light images) made with sharp, turned into a project by the real `initProject`.
 */
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { initProject } from '../../src/label/init.js';
import { PgLabelStore } from '../../src/label/pg-store.js';
import { SqliteLabelStore } from '../../src/label/sqlite-store.js';
import type { LabelStore } from '../../src/label/store.js';

/** The stores every store test runs against (the PostgreSQL variants need test/support/postgres.ts). */
export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ulearn-${prefix}-`));
}

/** `n` 8×8 gray PNGs in `dir/img/`: even ones dark (value 20 + i), odd ones light (value 220 - i). */
export async function makeImageFolder(dir: string, n: number): Promise<string> {
  const folder = join(dir, 'img');
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < n; i++) {
    const v = i % 2 === 0 ? 20 + (i % 30) : 220 - (i % 30);
    const png = await sharp(Buffer.alloc(64, v), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
    await writeFile(join(folder, `s${String(i).padStart(3, '0')}.png`), png);
  }
  return folder;
}

/** `store`: where the labels go (initProject's option: default SQLite, or a postgres:// URL). */
export async function makeProject(n = 20, opts: { classes?: string[]; retrainEvery?: number; overlap?: number; store?: string } = {}): Promise<{ store: LabelStore; dir: string; root: string }> {
  const root = tempDir('label');
  const folder = await makeImageFolder(root, n);
  const dir = join(root, 'project');
  const store = await initProject(dir, { data: folder, classes: opts.classes ?? ['dark', 'light', 'other'], retrainEvery: opts.retrainEvery ?? 1000, strategy: 'random', overlap: opts.overlap ?? 0, store: opts.store, log: () => undefined });
  return { store, dir, root };
}

/** A mono 16-bit PCM WAV: `seconds` of a `hz` sine at 8 kHz, amplitude rising linearly from 0 to 0.8. */
export function sineWav(hz: number, seconds: number): Buffer {
  const rate = 8000;
  const n = Math.round(rate * seconds);
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(32767 * 0.8 * (i / n) * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + 2 * i);
  return buf;
}

/** Runs SQL on a store's database directly, around the store (to check what the database itself refuses). */
export async function rawQuery(store: LabelStore, sql: string): Promise<Record<string, unknown>[]> {
  if (store instanceof SqliteLabelStore) {
    const stmt = store.db.prepare(sql);
    if (stmt.reader) return stmt.all() as Record<string, unknown>[];
    stmt.run();
    return [];
  }
  if (store instanceof PgLabelStore) return (await store.pool.query(sql)).rows as Record<string, unknown>[];
  throw new Error(`rawQuery: unknown store ${store.kind}`);
}
