/**
 * `npm run bench <name> [args...]`: runs bench/<name>.ts, which exports `run(args): Promise<number | void>`.
 * Unknown or missing name: lists the benchmarks there are and exits 2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

/** Files in bench/ that export a `run` function (found by reading them, so listing loads no tfjs). */
export function availableBenches(dir = benchDir): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
    .filter((f) => /export\s+(async\s+)?function\s+run\s*\(|export\s+const\s+run\s*=/.test(fs.readFileSync(path.join(dir, f), 'utf8')))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const names = availableBenches();
  if (!name || !names.includes(name)) {
    console.error(`${name ? `bench: unknown benchmark '${name}'` : 'bench: which benchmark?'}\nusage: npm run bench <name> [args]\navailable: ${names.join(', ') || '(none)'}`);
    return 2;
  }
  const mod = (await import(pathToFileURL(path.join(benchDir, `${name}.ts`)).href)) as { run: (args: string[]) => Promise<number | void> };
  return (await mod.run(args)) ?? 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const code = await main(process.argv.slice(2)).catch(async (err: unknown) => {
    const { describeError } = await import('../src/errors.js');
    console.error(`bench: error: ${describeError(err)}`);
    return 1;
  });
  // Exit explicitly: wasm pool threads must not hold a finished benchmark open.
  process.exit(code);
}
