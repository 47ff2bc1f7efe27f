/**
 * Custom clean checks, next to ulearn's own (duplicates, outliers, label errors, missing values, ...): one for
 * images (almost-black pictures) and one for tables (negative numbers in a column that cannot have them).
 * Both are registered the same way, return the same result (a score and a flag per sample, a summary, what
 * the manifest does with a flag) and land in issues.json, report.html and the manifest, which later steps
 * accept as data.
 *
 *   npx tsx examples/custom-clean-check.ts photos/ --out clean-out
 *   npx tsx examples/custom-clean-check.ts people.csv --not-negative age --out clean-out
 */
import { parseArgs } from 'node:util';
import { clean } from 'ulearn';

const tooDark: clean.Check = {
  name: 'too_dark',
  run({ samples: s }) {
    const n = s.ids.length;
    const size = s.height * s.width * s.channels;
    const scores = new Float32Array(n); // higher = darker: 1 - mean brightness
    const flags = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = i * size; j < (i + 1) * size; j++) sum += s.pixels[j];
      scores[i] = 1 - sum / size / 255;
      flags[i] = s.readable[i] && scores[i] > 0.9 ? 1 : 0;
    }
    const flagged = flags.reduce((a, b) => a + b, 0);
    return { name: 'too_dark', description: 'almost black (mean brightness under 10%)', scores, flags, action: 'exclude', summary: { flagged } };
  },
};

/** Rows whose `column` holds a negative number; the rows stay in the file, `eachRow` streams them. */
function notNegative(column: string): clean.TableCheck {
  return {
    name: 'negative_value',
    modality: 'table',
    async run({ table }) {
      const c = table.columns.indexOf(column);
      const scores = new Float32Array(table.rows); // higher = further below zero
      const flags = new Uint8Array(table.rows);
      await table.eachRow((values, i) => {
        const v = c < 0 ? NaN : Number(values[c]);
        scores[i] = Number.isFinite(v) ? -v : NaN;
        flags[i] = v < 0 ? 1 : 0;
      });
      const flagged = flags.reduce((a, b) => a + b, 0);
      return { name: 'negative_value', description: `${column} below zero`, scores, flags, action: 'exclude', summary: { flagged, column } };
    },
  };
}

const { positionals: [data], values: o } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: 'clean-out' }, 'not-negative': { type: 'string', default: 'age' } } });
if (!data) throw new Error('usage: custom-clean-check.ts <image-folder | table.csv> [--not-negative column] [--out dir]');
// Registered checks run after the built-in ones of their kind (and can be chosen by name: `checks: ['too_dark']`).
clean.registerCheck(tooDark);
clean.registerCheck(notNegative(o['not-negative']));
const isTable = /\.(csv|tsv|arff)$/i.test(data);
const { results, paths } = isTable ? await clean.runTabularClean(data, o.out) : await clean.runClean({ data, outDir: o.out, log: () => {} });
for (const r of results) console.log(`${r.name}: ${r.skipped ? 'skipped' : `${String(r.summary.flagged)} flagged`}`);
console.log(`manifest: ${paths.manifest}`);
