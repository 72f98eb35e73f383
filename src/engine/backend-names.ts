// Backend names without TensorFlow.js itself, so the UI thread can list them without loading tfjs.
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
