/**
 * Audio in one namespace, as the library exports it (`import { audio } from 'ulearn'`): WAV files, resampling,
 * folders of clips, and the feature front-end (log-mel, MFCC, per-band normalisation). docs/audio.md describes
 * the conventions.
 */
export { decodeWav, encodeWav, readWav, writeWav, type WavAudio, type WavEncoding } from './wav.js';
export { resample, SAMPLE_RATE } from './resample.js';
export { AUDIO_EXTENSIONS, fitClip, loadAudioFolder, type AudioFolderOptions, type AudioFolderResult, type SkippedFile } from './audio-folder.js';
export { audioFeatureConfig, audioFeatures, audioFeatureShape, type AudioFeatureConfig, type AudioFeatureKind, type AudioFeatureOptions } from './preprocess/audio-features.js';
export { AudioPreprocessor, type AudioPreprocessorJSON } from './preprocess/audio.js';
export {
  ensureSpeechDigits,
  loadSpeechDigits,
  loadSpeechPool,
  SPEECH_CLASSES,
  SPEECH_DIGITS_DEFAULTS,
  type SpeechDigitsMeta,
  type SpeechDigitsOptions,
} from './speech-digits.js';
