/** Uniform random sampling: the baseline every other strategy has to beat. */
import { checkContext, unlabeledIndices } from './pool.js';
import type { SelectContext, Strategy } from './strategy.js';

export function randomStrategy(): Strategy {
  return {
    name: 'random',
    select(ctx: SelectContext, k: number): number[] {
      checkContext(ctx, k, 'random');
      const pool = unlabeledIndices(ctx.labels);
      // Partial Fisher-Yates: only the first k positions are drawn.
      for (let i = 0; i < k; i++) {
        const j = i + ctx.rng.int(pool.length - i);
        [pool[i], pool[j]] = [pool[j], pool[i]];
      }
      return pool.slice(0, k);
    },
  };
}
