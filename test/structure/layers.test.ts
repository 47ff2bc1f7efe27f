/**
 * Dependencies run one way: data ← ssl/semi/train ← pipeline ← cli. Every relative import in src/ (static or
 * dynamic) is checked against the layer order below; an import from a lower layer into a higher one fails
 * with the file and the import named. Within a layer, folders may use each other.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

/** Lowest first. A top-level file (errors.ts, index.ts) is named with its extension. */
const LAYERS: string[][] = [
  ['errors.ts', 'util', 'engine'],
  ['data', 'augment', 'models', 'transfer', 'runs', 'neighbors', 'eval', 'modality.ts'],
  ['predict'],
  ['ssl', 'semi', 'train', 'generate', 'active', 'clean', 'distributed'],
  ['label', 'pipeline'],
  ['cli'],
  ['index.ts'],
];

function layerOf(unit: string): number {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  if (i < 0) throw new Error(`src/${unit} is in no layer: add it to LAYERS in test/structure/layers.test.ts`);
  return i;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The top-level folder (or file) of src/ that `file` belongs to. */
const unitOf = (file: string) => relative(SRC, file).split(/[\\/]/)[0].replace(/\.js$/, '.ts');

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.[^']+)'/gm)) out.push(m[1]);
  return out;
}

test('imports in src/ only go down the layers (data ← ssl/semi/train ← pipeline ← cli)', () => {
  const violations: string[] = [];
  for (const file of walk(SRC)) {
    const from = unitOf(file);
    for (const spec of imports(file)) {
      const to = unitOf(resolve(dirname(file), spec));
      if (to === from) continue;
      if (layerOf(to) > layerOf(from)) violations.push(`src/${relative(SRC, file)} imports '${spec}' (${from} may not depend on ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the check sees imports: data importing clean would be reported', () => {
  assert.ok(layerOf('clean') > layerOf('data'));
  assert.deepEqual(imports(join(SRC, 'data', 'load.ts')).filter((s) => s.includes('clean')), []);
  // The parser finds both forms an import takes in this code base.
  const probe = "import { a } from './x.js';\nconst b = await import('../y.js');\nimport type { C } from '../z.js';";
  assert.deepEqual([...probe.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.[^']+)'/gm)].map((m) => m[1]), ['./x.js', '../y.js', '../z.js']);
});
