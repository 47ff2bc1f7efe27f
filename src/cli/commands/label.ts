/**
 * `ulearn label …`: the annotation web app and its project.
 *
 *   ulearn label init <project-dir> --data <folder|fashion-mnist> [--classes a,b,c] [--encoder <run-dir>] [--store postgres://…]
 *   ulearn label add-annotator <name> [--project <dir>]
 *   ulearn label <project-dir> [--port 8765] [--host 127.0.0.1] [--allow-host name,…]   (serve; same as `label serve`)
 *   ulearn label export [--project <dir>] [--format csv|json|jsonl] [--out <file>]
 *   ulearn label import <file> [--project <dir>] [--overwrite] [--dry-run] [--as <name>]
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { createStrategy, STRATEGIES, STRATEGY_DESCRIPTIONS } from '../../active/strategy.js';
import { LIGHT_MODEL_KINDS } from '../../active/light-model.js';
import { UlearnError } from '../../errors.js';
import { EXPORT_FORMATS, exportLabels, importLabels, parseLabelFile, type ExportFormat } from '../../label/import-export.js';
import type { ProjectMeta } from '../../label/store.js';
import { ensureWebBuilt } from '../../label/web-build.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { encoderInputs, intArg, numberArg, portArg, withEncoderInputOptions, type EncoderInputFlags } from '../options.js';

// The store (better-sqlite3 or pg), the server (fastify) and the project builder (sharp) are loaded by the
// actions that use them: every `ulearn` command registers this one, and loading them up front cost each ~76 ms.
const openStore = async (dir: string) => (await import('../../label/store.js')).openStore(dir);

export function registerLabelCommand(program: Command): void {
  const label = program.command('label').description('annotation web app with active learning: init a project, add annotators, serve, import/export labels');

  withEncoderInputOptions(label
    .command('init')
    .description('create a labeling project from a folder of images/audio or from Fashion-MNIST')
    .argument('<project-dir>', 'directory to create (holds project.db or store.json, embeddings, media)')
    .requiredOption('--data <folder|fashion-mnist>', "a folder (searched recursively) or 'fashion-mnist'")
    .option('--classes <a,b,c>', 'class names, comma-separated (default for fashion-mnist: its 10 classes)')
    .option('--limit <n>', 'at most this many samples (fashion-mnist default 2000)', intArg('--limit', 1))
    .option('--encoder <path>', 'embed with this encoder instead of 16×16 pixels: a pretrained run (`ulearn pretrain`), checkpoint, model folder, or an imported model (model.onnx, a tfjs model.json; see --channels, --mean, --std, --cut-at)')
    .option('--target <n>', 'labels wanted in total (progress bar; default 20 per class)', intArg('--target', 1))
    .option('--retrain-every <n>', 'retrain the light model after this many new labels', intArg('--retrain-every', 1), 20)
    .addOption(new Option('--strategy <name>', 'active-learning strategy for the queue').choices([...STRATEGIES]).default('hybrid'))
    .addOption(new Option('--model <kind>', 'light model retrained in the background').choices([...LIGHT_MODEL_KINDS]).default('linear'))
    .option('--overlap <fraction>', 'share of labeled samples also shown (blind) to each other annotator, for agreement', numberArg('--overlap', 0, 1), 0.1)
    .option('--seed <n>', 'seed (held-out slice, strategy draws)', intArg('--seed', 0), 0)
    .option('--store <sqlite|postgres://…>', "where the labels are kept: 'sqlite' (<project-dir>/project.db) or a PostgreSQL URL (a schema of its own; several servers on one database serve one team; password from the URL, PGPASSWORD or ~/.pgpass, never saved)", 'sqlite')
    .addHelpText('after', `\nStrategies (--strategy):\n${STRATEGIES.map((s) => `  ${s.padEnd(17)} ${STRATEGY_DESCRIPTIONS[s]}`).join('\n')}`))
    .action(async (dir: string, o: EncoderInputFlags & { data: string; classes?: string; limit?: number; encoder?: string; target?: number; retrainEvery: number; strategy: string; model: ProjectMeta['model']; overlap: number; seed: number; store: string }) => {
      createStrategy(o.strategy);
      const classes = o.classes?.split(',').map((c) => c.trim());
      if (classes?.some((c) => c === '')) throw new UlearnError(`--classes has an empty name: '${o.classes}'`, { code: 'E_ARG' });
      const { initProject } = await import('../../label/init.js');
      const store = await initProject(dir, { ...o, classes, encoderInputs: encoderInputs(o) });
      console.log(`project ${store.dir}: ${await store.sampleCount()} samples, classes ${store.meta.classes.join(', ')}; labels in ${store.location}`);
      console.log(`next: ulearn label add-annotator <name> --project ${dir}   then   ulearn label ${dir}`);
      await store.close();
    });

  label
    .command('add-annotator')
    .description("register an annotator and print their token (needed for writes; shown only once)")
    .argument('<name>', 'annotator name')
    .option('-p, --project <dir>', 'project directory', '.')
    .action(async (name: string, o: { project: string }) => {
      const store = await openStore(o.project);
      try {
        const token = await store.addAnnotator(name);
        console.log(token);
        console.error(`annotator '${name}' added; open the app with ?token=<token> once, the browser remembers it`);
      } finally {
        await store.close();
      }
    });

  label
    .command('serve', { isDefault: true })
    .description('serve the labeling app (the default: `ulearn label <project-dir>`)')
    .argument('<project-dir>', 'project directory')
    .option('--port <n>', 'port (0 = any free port)', portArg(), 8765)
    .option('--host <addr>', 'address to bind; anything but loopback requires a token for every request', '127.0.0.1')
    .option('--allow-host <names>', 'more names the server is reached by (Host header), comma-separated, e.g. labbox.lan; others get 403 (DNS rebinding)')
    .action(async (dir: string, o: { port: number; host: string; allowHost?: string }) => {
      const allowedHosts = o.allowHost?.split(',').map((h) => h.trim()).filter((h) => h !== '') ?? [];
      if (allowedHosts.some((h) => !/^[A-Za-z0-9._-]+$/.test(h))) throw new UlearnError(`--allow-host: expected host names (letters, digits, . _ -), got '${o.allowHost}'`, { code: 'E_ARG' });
      const [{ RetrainScheduler }, { buildServer, isLoopback }] = await Promise.all([import('../../label/retrain.js'), import('../../label/server.js')]);
      const store = await openStore(dir);
      const webDir = await ensureWebBuilt();
      const scheduler = new RetrainScheduler(store, {
        retrainEvery: store.meta.retrainEvery,
        onDone: (r) => console.error(r instanceof Error ? `label: retrain failed: ${r.message}` : `label: retrained on ${r.trainLabels} labels in ${r.seconds.toFixed(1)} s; held-out accuracy ${r.holdoutAccuracy === null ? 'n/a' : (100 * r.holdoutAccuracy).toFixed(1) + '%'} (${r.holdoutLabels} labels)`),
      });
      const app = buildServer(store, { host: o.host, allowedHosts, webDir, onLabel: () => scheduler.noteLabel(), modelStatus: () => scheduler.status });
      const address = await app.listen({ port: o.port, host: o.host });
      await scheduler.start();
      // One machine-readable line first (tests and scripts wait for it), then the human-readable hints.
      console.log(`listening ${address}`);
      console.error(`label: project ${store.dir}, labels in ${store.location}`);
      if (!isLoopback(o.host)) console.error('label: bound to a non-loopback address: every request needs an annotator token');
      console.error(`label: open ${address}/?token=<token> (tokens: ulearn label add-annotator <name> --project ${dir})`);
      await new Promise<void>((done) => {
        const stop = () => done();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await app.close();
      await scheduler.close();
      await store.close();
    });

  label
    .command('export')
    .description('write the current labels (csv, json) or the whole label event history (jsonl)')
    .option('-p, --project <dir>', 'project directory', '.')
    .addOption(new Option('--format <fmt>', 'output format').choices([...EXPORT_FORMATS]).default('csv'))
    .option('--out <file>', 'write here (atomically) instead of stdout')
    .action(async (o: { project: string; format: ExportFormat; out?: string }) => {
      const store = await openStore(o.project);
      try {
        const text = await exportLabels(store, o.format);
        if (o.out) await writeFileAtomic(o.out, text);
        else process.stdout.write(text);
      } finally {
        await store.close();
      }
    });

  label
    .command('import')
    .description('import existing labels (csv with file,label columns; json [{file,label}]; jsonl) with a conflict report')
    .argument('<file>', 'label file')
    .option('-p, --project <dir>', 'project directory', '.')
    .option('--overwrite', 'apply rows that disagree with a sample\'s current label (default: report them only)', false)
    .option('--dry-run', 'report only, write nothing', false)
    .option('--as <name>', 'annotator name the imported labels are recorded under (default: import:<file name>)')
    .action(async (file: string, o: { project: string; overwrite: boolean; dryRun: boolean; as?: string }) => {
      const text = await readFile(file, 'utf8').catch((err: Error) => {
        throw new UlearnError(`${file}: cannot read (${err.message})`, { code: 'E_ARG' });
      });
      const store = await openStore(o.project);
      try {
        const report = await importLabels(store, parseLabelFile(text, file), { source: resolve(file), annotatorName: o.as ?? `import:${basename(file)}`, overwrite: o.overwrite, dryRun: o.dryRun });
        console.log(`${o.dryRun ? 'would import' : 'imported'}: ${report.rows} rows, ${report.added} new labels, ${report.unchanged} unchanged, ${report.conflicts.length} conflicts${report.conflicts.length ? (report.conflictsApplied ? ' (overwritten)' : ' (kept the current label; --overwrite to apply)') : ''}`);
        for (const c of report.conflicts.slice(0, 50)) console.log(`  conflict line ${c.line}: ${c.file}: current '${c.current}', file says '${c.incoming}'`);
        if (report.conflicts.length > 50) console.log(`  … and ${report.conflicts.length - 50} more`);
      } finally {
        await store.close();
      }
    });
}
