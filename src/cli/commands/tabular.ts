/**
 * `ulearn tabular <file.csv|file.arff> --label <column>`: the tabular pipeline (preprocess → SCARF → probe,
 * fine-tune, label propagation vs supervised-only and logistic regression), or `--config <file>` for the full
 * set of options (the tabular config schema in src/pipeline/tabular-config.ts). Flags given on the command line
 * override the config file.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { UlearnError } from '../../errors.js';
import { formatZodError, loadConfigFile } from '../../runs/config.js';
import { runTabular, type TabularRunResult } from '../../pipeline/tabular.js';
import { TABULAR_METHODS, TabularConfigSchema, type TabularConfig, type TabularConfigInput } from '../../pipeline/tabular-config.js';
import { backendOption, budgetOption, intArg, numberArg, seedOption } from '../options.js';

interface TabularCliOpts {
  config?: string;
  label?: string;
  testData?: string;
  testFraction?: number;
  labelFraction?: number;
  labelsPerClass?: number;
  methods?: string;
  delimiter?: string;
  skipBadRows?: boolean;
  budget?: string;
  seed?: number;
  backend?: string;
  out?: string;
}

export function registerTabularCommand(program: Command): void {
  program
    .command('tabular')
    .description('tables (CSV or ARFF) end to end: preprocessing, SCARF self-supervised pretraining of an MLP, linear probe / fine-tune / label propagation on the few labels, against supervised-only and logistic regression')
    .argument('[data]', 'a .csv (or other delimited text) or .arff file, or the manifest.json `ulearn clean` wrote for one (or give data in --config)')
    .option('--config <file>', 'tabular config file (JSON or YAML); flags override it')
    .option('--label <column>', 'the class column (rows where it is empty are unlabeled)')
    .option('--test-data <file>', 'a separate test file with the same columns (default: hold out --test-fraction of the rows)')
    .option('--test-fraction <f>', 'share of rows held out for testing (default 0.2)', numberArg('--test-fraction', 0, 0.99))
    .option('--label-fraction <f>', 'share of training rows whose labels stay visible, stratified (default: all labels)', numberArg('--label-fraction', 1e-9, 1))
    .option('--labels-per-class <n>', 'labels kept per class instead', intArg('--labels-per-class', 1))
    .option('--methods <list>', `comma-separated subset of ${TABULAR_METHODS.join(', ')}`)
    .option('--delimiter <char>', 'CSV delimiter (default: detected)')
    .option('--skip-bad-rows', 'skip (and list) rows that cannot be read instead of stopping at the first')
    .addOption(budgetOption('wall-clock budget, e.g. 10m'))
    .addOption(seedOption('random seed (split, label draw, initialisation, corruption)', undefined))
    .addOption(backendOption({ defaultValue: null }))
    .option('--out <dir>', 'run directory (default: runs/tabular-<file name>-<time>)')
    .action(async (data: string | undefined, o: TabularCliOpts) => {
      const base: Record<string, unknown> = o.config ? { ...(await loadConfigFile(o.config, TabularConfigSchema)) } : {};
      const flags: Partial<TabularConfigInput> = {
        data,
        labelColumn: o.label,
        testData: o.testData,
        testFraction: o.testFraction,
        labelFraction: o.labelFraction,
        labelsPerClass: o.labelsPerClass,
        methods: o.methods?.split(',').map((m) => m.trim()) as TabularConfigInput['methods'],
        delimiter: o.delimiter,
        skipBadRows: o.skipBadRows,
        budget: o.budget,
        seed: o.seed,
        backend: o.backend as TabularConfigInput['backend'],
      };
      for (const [k, v] of Object.entries(flags)) if (v !== undefined) base[k] = v;
      // A label budget on the command line replaces the config file's, whichever form either uses.
      if (o.labelsPerClass !== undefined && o.labelFraction === undefined) delete base.labelFraction;
      if (o.labelFraction !== undefined && o.labelsPerClass === undefined) delete base.labelsPerClass;
      const parsed = TabularConfigSchema.safeParse(base);
      if (!parsed.success) {
        throw new UlearnError(formatZodError(parsed.error, o.config ?? 'ulearn tabular', base, TabularConfigSchema), {
          code: 'E_CONFIG',
          hint: 'ulearn tabular <file> --label <column> (or --config with data and labelColumn)',
        });
      }
      await runTabularAndPrint(parsed.data, o.out);
    });
}

/** Runs the tabular pipeline and prints its table; shared by `ulearn tabular` and `ulearn run <table config>`. */
export async function runTabularAndPrint(cfg: TabularConfig, out?: string, runsRoot = 'runs'): Promise<void> {
  const name = cfg.data.split(/[\\/]/).pop()!.replace(/\.[^.]+$/, '');
  const runDir = out ?? join(runsRoot, `tabular-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const result = await runTabular(cfg, runDir, (line) => console.error(line));
  console.log('');
  console.log(tabularTable(result));
  if (result.pretrain) console.log(`(SCARF pretraining: ${result.pretrain.seconds.toFixed(1)} s, ${result.pretrain.steps} steps${result.pretrain.stoppedByBudget ? ', stopped by its budget share' : ''}, shared by the ssl-* methods)`);
  console.log(`\nrun directory: ${result.runDir}`);
}

/** The table `ulearn tabular` prints: accuracy, time, and the steps each trained arm took ("(budget)" when its share ran out first). */
export function tabularTable(result: Pick<TabularRunResult, 'results'>): string {
  const rows = result.results.map((r) => [
    r.method,
    `${(100 * r.accuracy).toFixed(1)}%`,
    `${r.seconds.toFixed(1)} s`,
    r.steps === undefined ? '' : `${r.steps}${r.stoppedByBudget ? ' (budget)' : ''}`,
  ]);
  const header = ['method', 'test accuracy', 'time', 'steps'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
