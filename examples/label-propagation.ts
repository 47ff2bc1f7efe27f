/**
 * Label propagation on your own embeddings: a few labeled vectors spread their labels over a kNN graph of
 * all of them (label spreading, Zhou et al. 2004 / Iscen et al. 2019). Bring vectors from any model.
 *
 *   npx tsx examples/label-propagation.ts embeddings.json > labels.csv
 *
 * embeddings.json: { "ids": ["a", ...], "vectors": [[0.1, ...], ...], "labels": ["cat", null, ...] }
 * (null = unlabeled). Prints id,label,confidence for every vector.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { initBackend, semi } from 'ulearn';

const { positionals: [file], values: o } = parseArgs({ allowPositionals: true, options: { k: { type: 'string', default: '10' }, backend: { type: 'string', default: 'auto' } } });
if (!file) throw new Error('usage: label-propagation.ts <embeddings.json> [--k 10]');
const input = JSON.parse(await readFile(file, 'utf8')) as { ids: string[]; vectors: number[][]; labels: (string | null)[] };

await initBackend(o.backend); // the exact kNN search runs on tfjs
const classes = [...new Set(input.labels.filter((l) => l !== null))].sort();
const dim = input.vectors[0].length;
const features = Float32Array.from(input.vectors.flat());
const y = Int32Array.from(input.labels, (l) => (l === null ? -1 : classes.indexOf(l)));

const result = semi.labelSpreading(features, dim, y, classes.length, { k: Number(o.k) });
console.log('id,label,confidence');
input.ids.forEach((id, i) => console.log(`${id},${classes[result.labels[i]]},${result.confidence[i].toFixed(3)}`));
