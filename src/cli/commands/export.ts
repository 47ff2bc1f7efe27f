/**
 * `ulearn export <model-dir|run-dir|checkpoint> --format onnx|tfjs --out <dir>`: a trained classifier or encoder
 * as ONNX or a tfjs layers model, with preprocessing.json beside it. Arguments only; the work (and the
 * onnxruntime check every ONNX export passes) is src/transfer/export.ts.
 */
import { Command, Option } from 'commander';
import { initBackend } from '../../engine/index.js';
import { EXPORT_FORMATS, exportModel, type ExportFormat } from '../../transfer/export.js';
import type { InputLayout } from '../../transfer/export-onnx.js';
import { backendOption } from '../options.js';

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'export a model folder (`ulearn train`, runs/<id>/model), a run directory or an encoder checkpoint to ONNX (opset 13, checked against onnxruntime) or to a tfjs layers model, with preprocessing.json (input shape and layout, channel order, normalisation, label names)',
    )
    .argument('<source>', 'model folder, run directory, or encoder checkpoint folder')
    .addOption(new Option('--format <format>', 'what to write').choices([...EXPORT_FORMATS]).default('onnx'))
    .requiredOption('--out <dir>', 'output folder (new, empty, or an earlier export, which is replaced)')
    .option('--encoder-only', "export the encoder (features) instead of the whole classifier")
    .addOption(new Option('--layout <layout>', 'ONNX input layout for images and audio features').choices(['nchw', 'nhwc']).default('nchw'))
    .addOption(backendOption())
    .action(async (source: string, o: { format: ExportFormat; out: string; encoderOnly?: boolean; layout: InputLayout; backend: string }) => {
      await initBackend(o.backend);
      const r = await exportModel(source, o.out, { format: o.format, encoderOnly: o.encoderOnly, inputLayout: o.layout, log: (l) => console.error(l) });
      const s = r.sidecar;
      console.log(`${s.model.kind} → ${o.out}/${s.model.file} (${s.model.format}${s.model.opset ? `, opset ${s.model.opset}` : ''})`);
      console.log(`input '${s.input.name}' [${s.input.shape.map((d) => d ?? 'N').join(', ')}] ${s.input.layout}; output '${s.output.name}' (${s.output.meaning}); preprocessing: ${o.out}/preprocessing.json`);
    });
}
