// How the system Chromium is launched headless for the browser tests and the bench: WebGPU and WebGL
// then run on SwiftShader, so every backend's code path can run on a machine without a GPU.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];
