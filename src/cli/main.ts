/**
 * The `ulearn` command line. It only parses arguments and calls the library; every command has --help.
 * User errors (UlearnError) print one message and exit non-zero; anything else is a bug and shows its stack.
 */
import { Command, Option } from 'commander';
import { describeError, UlearnError } from '../errors.js';
import { BACKENDS, describeBackend, initBackend } from '../engine/index.js';

export function backendOption(): Option {
  return new Option('--backend <name>', 'compute backend').choices([...BACKENDS]).default('auto');
}

export function threadsOption(): Option {
  return new Option('--threads <n>', 'wasm compute threads (default: all cores)').argParser((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UlearnError(`--threads must be a positive integer, got '${v}'`);
    return n;
  });
}

export function buildProgram(): Command {
  const program = new Command('ulearn')
    .description('Train good models from mostly unlabeled data: clean, pretrain, label, train, evaluate.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('info')
    .description('start the compute backend and print what runs (backend, threads, SIMD, GPU adapter)')
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(async (opts: { backend: string; threads?: number }) => {
      const report = await initBackend(opts.backend, { threads: opts.threads });
      console.log(describeBackend(report));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2; // commander already printed why
    console.error(`ulearn: error: ${describeError(err)}`);
    return err instanceof UlearnError ? err.exitCode : 1;
  }
}

const exitCode = await main(process.argv.slice(2));
// Exit explicitly: wasm pool threads and tfjs timers must not hold a finished command open.
process.exit(exitCode);
