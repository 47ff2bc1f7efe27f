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
