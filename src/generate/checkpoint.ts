/**
 * A generator's checkpoint: the one checkpoint format (src/runs/checkpoint.ts) over the generator's bundled
 * networks, with the generator's kind and config recorded in its state, so sampling rebuilds the same networks
 * and a checkpoint of another kind (or an encoder's) is refused by name before any weight is read.
 */
import { UlearnError } from '../errors.js';
import { inspectCheckpoint, loadCheckpoint, saveCheckpoint } from '../runs/checkpoint.js';
import { Diffusion, type DiffusionConfig } from './diffusion.js';
import { Ssvae, type SsvaeConfig } from './ssvae.js';
import { GENERATOR_KINDS, type Generator, type GeneratorKind } from './types.js';
import { Vae, type VaeConfig } from './vae.js';

export interface GeneratorState {
  step: number;
  classes: string[];
  shape: number[];
}

export function buildGenerator(kind: GeneratorKind, config: unknown): Generator {
  if (kind === 'vae') return new Vae(config as VaeConfig);
  if (kind === 'ssvae') return new Ssvae(config as SsvaeConfig);
  return new Diffusion(config as DiffusionConfig);
}

export async function saveGenerator(dir: string, gen: Generator, s: GeneratorState): Promise<void> {
  await saveCheckpoint(dir, gen.model, { state: { step: s.step, generator: { kind: gen.kind, config: gen.config }, classes: s.classes, shape: s.shape } });
}

/** Rebuilds and loads the generator at `dir`; `expect` refuses another kind with a clear error. */
export async function loadGenerator(dir: string, expect?: GeneratorKind): Promise<{ generator: Generator; state: GeneratorState }> {
  const info = await inspectCheckpoint(dir);
  if (!info) throw new UlearnError(`no checkpoint at ${dir}`, { code: 'E_CHECKPOINT', hint: 'give the checkpoint folder `ulearn generate` wrote (<out>/checkpoint)' });
  const g = info.state.generator as { kind?: unknown; config?: unknown } | undefined;
  if (!g || typeof g !== 'object' || !(GENERATOR_KINDS as readonly unknown[]).includes(g.kind)) {
    const what = info.architecture ? `a ${info.architecture.family} encoder` : 'no generator';
    throw new UlearnError(`checkpoint ${info.path} holds ${what}, not a generative model`, { code: 'E_CHECKPOINT_MISMATCH', hint: `give a checkpoint written by \`ulearn generate\` (${GENERATOR_KINDS.join(', ')})` });
  }
  const kind = g.kind as GeneratorKind;
  if (expect && kind !== expect) {
    throw new UlearnError(`checkpoint ${info.path} holds a ${kind} generator, not a ${expect}`, { code: 'E_CHECKPOINT_MISMATCH', hint: `use --model ${kind}, or a ${expect} checkpoint` });
  }
  const generator = buildGenerator(kind, g.config);
  try {
    await loadCheckpoint(info.path, generator.model);
  } catch (e) {
    generator.dispose();
    throw e;
  }
  const st = info.state as unknown as GeneratorState;
  return { generator, state: { step: st.step, classes: st.classes, shape: st.shape } };
}
