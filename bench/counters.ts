// Counters the bench prints so regressions show: kernels launched and device read-backs per update.
// Kernels come from tf.profile (every kernel the engine runs, gradients included). Read-backs are the
// tensor methods that wait for device data (data, dataSync, array, arraySync, bytes); a backend's own
// internal reads (the wasm slice kernel reads its heap synchronously) are not read-backs to the host.
import { tf } from '../src/engine/tf';

const READ_METHODS = ['data', 'dataSync', 'array', 'arraySync', 'bytes'] as const;

/** Runs `work` while counting host read-backs of tensor data. */
export async function countReadBacks(work: () => Promise<unknown>): Promise<number> {
  const proto = tf.Tensor.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originals = READ_METHODS.map((name) => proto[name]);
  let count = 0;
  READ_METHODS.forEach((name, i) => {
    proto[name] = function (this: unknown, ...args: unknown[]) {
      count++;
      return originals[i].apply(this, args);
    };
  });
  try {
    await work();
  } finally {
    READ_METHODS.forEach((name, i) => (proto[name] = originals[i]));
  }
  return count;
}

/** Kernels launched by `work`, and how many of each, most frequent first. */
export async function countKernels(
  work: () => Promise<unknown>,
): Promise<{ total: number; byName: [string, number][] }> {
  const info = await tf.profile(async () => {
    await work();
  });
  const byName = new Map<string, number>();
  for (const k of info.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);
  return { total: info.kernels.length, byName: [...byName].sort((a, b) => b[1] - a[1]) };
}
