/**
 * `ulearn worker --redis redis://…`: runs the shards of distributed `encode`, `predict` and `clean` runs from the
 * BullMQ queue until stopped (SIGINT / SIGTERM finish the shard in hand first). See docs/scale.md.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { runWorker } from '../../distributed/worker.js';
import { backendOption, intArg, threadsOption } from '../options.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('take shards of distributed runs (`ulearn encode|predict|clean --distributed`) from Redis and run them, one at a time, until stopped')
    .requiredOption('--redis <url>', 'the Redis the runs use, e.g. redis://:password@host:6379')
    .option('--queue <name>', 'BullMQ queue to take shards from', 'ulearn-shards')
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(new Option('--lock-duration <ms>', "how long a shard stays with a worker that stopped answering before another takes it (BullMQ lockDuration)").argParser(intArg('--lock-duration', 100)).default(60_000))
    .addOption(new Option('--stalled-interval <ms>', 'how often shards of dead workers are looked for (BullMQ stalledInterval)').argParser(intArg('--stalled-interval', 100)).default(30_000))
    .action(async (o: { redis: string; queue: string; backend: string; threads?: number; lockDuration: number; stalledInterval: number }) => {
      let stop!: () => void;
      const stopped = new Promise<void>((r) => (stop = r));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await runWorker({ url: o.redis, queue: o.queue, backend: o.backend, threads: o.threads, lockMs: o.lockDuration, stalledMs: o.stalledInterval, stop: stopped });
    });
}
