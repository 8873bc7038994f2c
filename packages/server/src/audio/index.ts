export * from "./constants.js";
export { parseWav, encodeWav, type DecodedAudio } from "./wav.js";
export { decodePcm, bytesPerSample, type SampleEncoding } from "./pcm.js";
export { Resampler } from "./resampler.js";
export { MelStream, melSpectrogram } from "./mel.js";
export { FrameWindows, silenceWindow } from "./frame-windows.js";
