/**
 * The `ulearn` executable (bin/ulearn.js loads this file): runs the command line and exits. Everything else is
 * in ./program.ts, which can be imported (by tests, by commands that reuse its options) without running it.
 */
import { main } from './program.js';

const exitCode = await main(process.argv.slice(2));
// Exit explicitly: wasm pool threads and tfjs timers must not hold a finished command open.
process.exit(exitCode);
