import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UlearnError } from '../../src/errors.js';
import { loadDataset } from '../../src/data/load.js';
import { FASHION_MNIST, FASHION_MNIST_CLASSES, loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { encodeIdx, tempDir } from './fixtures.js';

const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
const skip = existsSync(SYSTEM_DIR) ? false : `${SYSTEM_DIR} is absent (install Debian's dataset-fashion-mnist to run this test)`;

test('real Fashion-MNIST loads by name from the Debian copy', { skip }, async () => {
  const cache = await tempDir();
  process.env.ULEARN_CACHE = cache; // proves the system copy is used: nothing may land in the cache
  try {
    const { train, test: testSplit } = await loadDataset('fashion-mnist');
    assert.ok(testSplit);
    assert.equal(train.size, 60000);
    assert.equal(testSplit.size, 10000);
    assert.equal(train.name, 'fashion-mnist/train');
    assert.equal(testSplit.split, 'test');
    for (const ds of [train, testSplit]) {
      assert.deepEqual(ds.inputShape, [28, 28, 1]);
      assert.deepEqual(ds.classes, FASHION_MNIST_CLASSES);
      assert.equal(ds.x.length, ds.size * 784);
      let min = Infinity;
      let max = -Infinity;
      for (const v of ds.x) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      assert.equal(min, 0);
      assert.equal(max, 1);
      // Fashion-MNIST is balanced: 6000 / 1000 per class.
      const counts = new Array(10).fill(0);
      for (const c of ds.y) counts[c]++;
      assert.deepEqual(counts, new Array(10).fill(ds.size / 10));
    }
    // Published first training label: 9 (Ankle boot).
    assert.equal(train.y[0], 9);
    assert.deepEqual(await readdir(cache), []);
  } finally {
    delete process.env.ULEARN_CACHE;
  }
});

test('a copy whose data differs from the published files is refused (raw SHA-256 check)', { skip }, async () => {
  const dir = await tempDir();
  for (const key of ['trainImages', 'testImages', 'testLabels'] as const) {
    await copyFile(join(SYSTEM_DIR, FASHION_MNIST.files[key].file), join(dir, FASHION_MNIST.files[key].file));
  }
  // A well-formed but different label file (uncompressed name also accepted).
  await writeFile(join(dir, 'train-labels-idx1-ubyte'), encodeIdx('uint8', [60000], new Array(60000).fill(0)));
  await assert.rejects(loadFashionMnist({ dir }), (err: unknown) => {
    assert.ok(err instanceof UlearnError);
    assert.equal(err.code, 'E_CHECKSUM');
    assert.match(err.message, /train-labels-idx1-ubyte: decompressed data has SHA-256 [0-9a-f]{64}, expected bad3541b/);
    return true;
  });
});
