/**
 * Options and argument parsers shared by the CLI's commands (program.ts and src/cli/commands/*): each common
 * flag is declared here once, so its help, choices and error read the same in every command.
 */
import { Option, type Command } from 'commander';
import { BACKENDS } from '../engine/index.js';
import { UlearnError } from '../errors.js';
import { Budget } from '../util/budget.js';
import { parseAugmentOverride } from '../augment/choose.js';

export function intArg(flag: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UlearnError(`${flag} must be an integer >= ${min}, got '${v}'`, { code: 'E_ARG' });
    return n;
  };
}

export function numberArg(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new UlearnError(`${flag} must be a number in [${min}, ${max}], got '${v}'`, { code: 'E_ARG' });
    return n;
  };
}

/**
 * --backend. `defaultValue` null: no default, for commands where a config file's backend must win unless the
 * flag is given (`ulearn tabular --config`).
 */
export function backendOption(o: { help?: string; defaultValue?: string | null } = {}): Option {
  const opt = new Option('--backend <name>', o.help ?? 'compute backend').choices([...BACKENDS]);
  return o.defaultValue === null ? opt : opt.default(o.defaultValue ?? 'auto');
}

export function threadsOption(): Option {
  return new Option('--threads <n>', 'wasm compute threads (default: all cores)').argParser(intArg('--threads', 1));
}

/** --seed; `defaultValue` undefined leaves the seed to a config file. */
export function seedOption(help = 'random seed (label draw, initialisation, augmentation)', defaultValue: number | undefined = 0): Option {
  const opt = new Option('--seed <n>', help).argParser(intArg('--seed', 0));
  return defaultValue === undefined ? opt : opt.default(defaultValue);
}

/** --budget, checked when parsed (a typo fails before any work starts) and kept as the user's text: a duration
 * or 'none' (no wall-clock limit: the step and epoch caps alone stop training). */
export function budgetOption(help = 'wall-clock budget, e.g. 10m, 90s, 1h, or none (epoch/step caps only)'): Option {
  return new Option('--budget <time>', help).argParser((v) => (Budget.parse(v), v));
}

/** A TCP port: 0 (any free port) to 65535. */
export function portArg(flag = '--port') {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UlearnError(`${flag} must be a port number 0..65535 (0 = any free port), got '${v}'`, { code: 'E_ARG', hint: 'e.g. --port 8765' });
    return n;
  };
}

/** `--augment flip=off,vflip=on,crop=0.35`: fixes those settings; the rest are chosen from the labeled images. */
export function augmentOption(): Option {
  return new Option('--augment <settings>', "augmentation settings, e.g. 'flip=off,crop=0.35' (keys: flip, vflip, crop; default: chosen from the labeled images)").argParser((v) => {
    parseAugmentOverride(v);
    return v;
  });
}

/**
 * --skip-bad: a folder's files that cannot be read (truncated, empty, unsupported codec, NaN samples) are
 * left out, each printed with the reason and then counted, instead of stopping at the first with an error
 * naming it.
 */
export function skipBadOption(): Option {
  return new Option('--skip-bad', 'audio and image folders: skip (and list, with the reason) files that cannot be read, instead of stopping at the first');
}

/**
 * How an imported encoder (`--encoder model.onnx | model.json`) reads the data: these override what its
 * `preprocessing.json` declares (transfer/adapt.ts). Add them to a command with `.addOption(...)` each.
 */
export function encoderInputOptions(): Option[] {
  const list = (flag: string) => (v: string) =>
    v.split(',').map((s) => {
      const n = Number(s);
      if (s.trim() === '' || !Number.isFinite(n)) throw new UlearnError(`${flag} must be numbers separated by commas, one per channel, got '${v}'`, { code: 'E_ARG', hint: `e.g. ${flag} 0.485,0.456,0.406` });
      return n;
    });
  return [
    new Option('--input-size <HxW>', "imported encoder: resize images to HxW first (default: the model's preprocessing.json)").argParser((v): [number, number] => {
      const m = /^(\d+)x(\d+)$/.exec(v);
      if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UlearnError(`--input-size must be HxW, e.g. 224x224, got '${v}'`, { code: 'E_ARG' });
      return [Number(m[1]), Number(m[2])];
    }),
    new Option('--channels <order>', 'imported encoder: convert images to gray or rgb first').choices(['gray', 'rgb']),
    new Option('--mean <list>', 'imported encoder: per-channel mean subtracted from pixels in [0, 1]').argParser(list('--mean')),
    new Option('--std <list>', 'imported encoder: per-channel std dividing them').argParser(list('--std')),
    new Option('--cut-at <name>', 'imported encoder: the node (ONNX) or layer (tfjs) whose output are the features (default: before the classifier)'),
  ];
}

/** `cmd` with the `encoderInputOptions`. */
export function withEncoderInputOptions(cmd: Command): Command {
  for (const opt of encoderInputOptions()) cmd.addOption(opt);
  return cmd;
}

export interface EncoderInputFlags {
  inputSize?: [number, number];
  channels?: 'gray' | 'rgb';
  mean?: number[];
  std?: number[];
  cutAt?: string;
}

/** The flags of `encoderInputOptions` as loadEncoder options. */
export function encoderInputs(o: EncoderInputFlags): { preprocessing: { size?: [number, number]; channels?: 1 | 3; mean?: number[]; std?: number[] }; cutAt?: string } {
  return {
    preprocessing: { size: o.inputSize, channels: o.channels === undefined ? undefined : o.channels === 'gray' ? 1 : 3, mean: o.mean, std: o.std },
    cutAt: o.cutAt,
  };
}

/**
 * The flags of a step that can run on many machines (`ulearn encode|predict --distributed <redis-url>`):
 * the Redis URL, the shard size, retries, the queue and the shared run folder. `--poll` is for the tests.
 */
export function distributedOptions(workHelp: string): Option[] {
  return [
    new Option('--distributed <redis-url>', 'split the work into shards and run them on `ulearn worker` processes through Redis (BullMQ), e.g. redis://:password@host:6379'),
    new Option('--shard-size <n>', 'samples per shard (with --distributed)').argParser(intArg('--shard-size', 1)).default(1000),
    new Option('--attempts <n>', 'tries per shard before the run fails (with --distributed)').argParser(intArg('--attempts', 1)).default(3),
    new Option('--retry-delay <ms>', 'first retry delay in ms, doubled at each retry (with --distributed)').argParser(intArg('--retry-delay', 0)).default(5000),
    new Option('--queue <name>', 'BullMQ queue the workers take shards from (with --distributed)').default('ulearn-shards'),
    new Option('--work <dir>', workHelp),
    new Option('--poll <ms>', 'how often shard states are read').argParser(intArg('--poll', 10)).default(1000).hideHelp(),
  ];
}

export interface DistributedFlags {
  distributed?: string;
  shardSize: number;
  attempts: number;
  retryDelay: number;
  queue: string;
  work?: string;
  poll: number;
}
