/**
 * Resampling to 16 kHz: against torchaudio.functional.resample (default arguments, float64) on the fixture
 * signals of six rates, and with pure tones: a tone in the pass band keeps its amplitude, a tone above the new
 * Nyquist frequency is removed instead of folding back into the band.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resample } from '../../src/data/resample.js';
import { fixtureIndex, maxAbsDiff, readF32 } from './audio-fixtures.js';

/** Tolerance against torchaudio: float32 input and output roundings over ~35 taps (signals peak near 1; measured 6e-8). */
const TORCHAUDIO_TOL = 1e-6;

test('matches torchaudio.functional.resample at 8, 11.025, 16, 22.05, 32, 44.1 and 48 kHz', () => {
  const rates = new Set<number>();
  for (const f of fixtureIndex.wav) {
    const got = resample(readF32(f.mono), f.sampleRate, 16000);
    const want = readF32(f.resampled16k);
    assert.equal(got.length, want.length, `${f.file}: length`);
    assert.equal(got.length, Math.ceil((f.frames * 16000) / f.sampleRate));
    const err = maxAbsDiff(got, want);
    assert.ok(err <= TORCHAUDIO_TOL, `${f.file} (${f.sampleRate} Hz): max error ${err}`);
    rates.add(f.sampleRate);
  }
  assert.deepEqual([...rates].sort((a, b) => a - b), [8000, 11025, 16000, 22050, 32000, 44100, 48000]);
});

function tone(freq: number, rate: number, seconds = 1): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.sin((2 * Math.PI * freq * i) / rate));
}

/** The interior of a 16 kHz signal (filter edges left out): 15000 samples, a whole number of cycles for multiples of 16 Hz. */
const interior = (y: Float32Array) => y.subarray(500, 15500);

/** Amplitude of the `freq` component of a 16 kHz signal (projection on sin and cos over whole cycles). */
function amplitude(y: Float32Array, freq: number): number {
  let a = 0;
  let b = 0;
  y.forEach((v, i) => {
    a += v * Math.cos((2 * Math.PI * freq * i) / 16000);
    b += v * Math.sin((2 * Math.PI * freq * i) / 16000);
  });
  return (2 / y.length) * Math.hypot(a, b);
}

const rms = (y: Float32Array) => Math.sqrt(y.reduce((s, v) => s + v * v, 0) / y.length);

test('pass band: tones up to 6 kHz keep their amplitude, from 44.1 and 48 kHz down and from 8 kHz up', () => {
  for (const rate of [44100, 48000]) {
    // Measured: 0.99959 at 1 kHz, 0.99808 at 4 kHz, 0.98474 at 6 kHz (-0.13 dB, the filter's roll-off begins).
    for (const [freq, tol] of [[1008, 0.001], [4000, 0.003], [6000, 0.02]]) {
      const y = interior(resample(tone(freq, rate), rate, 16000));
      const amp = amplitude(y, freq);
      assert.ok(Math.abs(amp - 1) <= tol, `${freq} Hz from ${rate} Hz: amplitude ${amp}`);
      // All of the energy is at that frequency: nothing else appears.
      assert.ok(Math.abs(rms(y) - amp / Math.SQRT2) <= 1e-3, `${freq} Hz from ${rate} Hz: rms ${rms(y)}`);
    }
  }
  // Upsampling interpolates: a 1 kHz tone at 8 kHz becomes the same tone sampled at 16 kHz.
  const up = resample(tone(1000, 8000), 8000, 16000);
  assert.equal(up.length, 16000);
  assert.ok(maxAbsDiff(interior(up), interior(tone(1000, 16000))) <= 2e-3, `upsampled error ${maxAbsDiff(interior(up), interior(tone(1000, 16000)))}`);
});

// Measured: 10 kHz -45 dB, 12 kHz -55 dB, 15 kHz -75 dB, 20 kHz -84 dB (9 kHz, inside the transition band: -17 dB).
test('stop band: tones from 10 kHz up are removed (at least 40 dB down), not aliased into the band', () => {
  for (const rate of [44100, 48000]) {
    for (const freq of [10000, 12000, 15008, 20000]) {
      const y = interior(resample(tone(freq, rate), rate, 16000));
      const level = 20 * Math.log10(rms(y) / Math.SQRT1_2);
      assert.ok(level <= -40, `${freq} Hz from ${rate} Hz: ${level.toFixed(1)} dB`);
    }
  }
});

test('equal rates give the input back; rates must be positive integers', () => {
  const x = tone(440, 16000, 0.01);
  assert.equal(resample(x, 16000, 16000), x);
  assert.throws(() => resample(x, 0, 16000), /from rate must be a positive integer, got 0/);
  assert.throws(() => resample(x, 44100.5, 16000), /from rate must be a positive integer/);
  assert.throws(() => resample(x, 16000, -1), /to rate must be a positive integer/);
  // A WAV header may claim any rate; beyond real audio's range the kernels would be huge or meaningless.
  assert.throws(() => resample(x, 999, 16000), /sample rate 999 Hz is outside what resampling takes \(1000 to 768000 Hz\)/);
  assert.throws(() => resample(x, 4_000_000_000, 16000), /sample rate 4000000000 Hz is outside/);
  assert.equal(resample(new Float32Array(0), 44100, 16000).length, 0);
});
