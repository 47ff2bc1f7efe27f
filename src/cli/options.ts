/** Argument parsers shared by the CLI's commands (main.ts and src/cli/commands/*), so a flag's error reads the same everywhere. */
import { UlearnError } from '../errors.js';

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

/** A TCP port: 0 (any free port) to 65535. */
export function portArg(flag = '--port') {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UlearnError(`${flag} must be a port number 0..65535 (0 = any free port), got '${v}'`, { code: 'E_ARG', hint: 'e.g. --port 8765' });
    return n;
  };
}
