/**
 * Fault hooks for the tests of the distributed steps, off unless `ULEARN_TEST_FAULT` is set, so a test can
 * put a worker in a known state at a known shard instead of guessing with sleeps:
 *   hang:<shard>          first attempt of that shard never finishes (the test then kills the worker)
 *   fail:<shard>          every attempt of that shard throws
 *   failonce:<shard>      the first attempt of that shard throws (BullMQ retries it)
 *   wait:<shard>:<file>   first attempt of that shard waits until <file> exists (the test restarts Redis meanwhile)
 * Each prints `test fault: <action> shard <n>` on stderr when it triggers, which the test waits for.
 */
import { existsSync } from 'node:fs';

export async function testFault(shard: number, earlierStarts: number, log: (m: string) => void): Promise<void> {
  const spec = process.env.ULEARN_TEST_FAULT;
  if (!spec) return;
  const [action, at, file] = spec.split(':');
  if (Number(at) !== shard) return;
  if (action === 'fail') {
    log(`test fault: fail shard ${shard}`);
    throw new Error(`test fault in shard ${shard}`);
  }
  if (earlierStarts > 0) return;
  if (action === 'failonce') {
    log(`test fault: fail once shard ${shard}`);
    throw new Error(`test fault in shard ${shard} (first attempt)`);
  }
  if (action === 'hang') {
    log(`test fault: hang shard ${shard}`);
    await new Promise<void>(() => undefined);
  }
  if (action === 'wait') {
    log(`test fault: wait shard ${shard}`);
    while (!existsSync(file)) await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `ULEARN_TEST_START_AFTER=<file>`: the worker connects and starts its engine, then takes no job until
 * <file> exists, so a test can start it early (start-up is the slow part) and let it in at a known moment.
 */
export async function testStartGate(log: (m: string) => void): Promise<void> {
  const file = process.env.ULEARN_TEST_START_AFTER;
  if (!file) return;
  log('test fault: waiting for the start gate');
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 50));
}
