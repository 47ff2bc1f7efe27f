/** The TC-ResNet audio encoder: shape, size, 1-D over time, and rebuilt from its recorded architecture. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { architectureOf, buildEncoder } from '../../src/models/architecture.js';
import { modality } from '../../src/modality.js';
import { UlearnError } from '../../src/errors.js';
import { useWasm } from '../ssl/helpers.js';

before(useWasm);

test('the audio modality builds a TC-ResNet (16-32-64 by default); at [24, 32, 48] a TC-ResNet8: 48 features out, about 66 k weights', () => {
  assert.deepEqual(modality('audio').encoder([101, 1, 40]).widths, [16, 32, 64]);
  const arch = modality('audio').encoder([101, 1, 40], { widths: [24, 32, 48] });
  assert.equal(arch.family, 'tcresnet');
  const enc = buildEncoder({ ...arch, method: 'none' }, 0);
  assert.deepEqual(enc.outputs[0].shape, [null, 48]);
  const params = enc.countParams();
  // TC-ResNet8 has 66 k parameters in the paper (with 40 MFCCs in); BN's moving statistics add a few hundred.
  assert.ok(params > 60_000 && params < 72_000, `${params} parameters`);
  const y = tf.tidy(() => (enc.predict(tf.randomNormal([3, 101, 1, 40], 0, 1, 'float32', 1)) as tf.Tensor).arraySync() as number[][]);
  assert.equal(y.length, 3);
  assert.ok(y.flat().every(Number.isFinite));
  assert.equal(architectureOf(enc)?.family, 'tcresnet');
  enc.dispose();
});

test('waveforms (not features) are a clear error that says to featurize', () => {
  assert.throws(() => modality('audio').encoder([16000]), (e: unknown) => e instanceof UlearnError && /featurize/.test(e.message));
  assert.throws(() => buildEncoder({ family: 'tcresnet', modality: 'audio', inputShape: [28, 28, 1], widths: [8] }), /frames, 1, bins/);
});
