/**
 * A custom clean check: flag almost-black images, next to ulearn's own checks (duplicates, outliers, label
 * errors, ...). Its flags land in issues.json, report.html and the manifest, which later steps accept as data.
 *
 *   npx tsx examples/custom-clean-check.ts photos/ --out clean-out
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

const { positionals: [folder], values: o } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: 'clean-out' } } });
if (!folder) throw new Error('usage: custom-clean-check.ts <image-folder> [--out dir]');
// Registered checks run with the built-in ones (and can be chosen by name: `checks: ['too_dark']`).
clean.registerCheck(tooDark);
const { results, paths } = await clean.runClean({ data: folder, outDir: o.out, log: () => {} });
for (const r of results) console.log(`${r.name}: ${r.skipped ? 'skipped' : `${String(r.summary.flagged)} flagged`}`);
console.log(`manifest: ${paths.manifest}`);
