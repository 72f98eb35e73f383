// Identity for the wasm backend without a copy. tfjs-core clones every tensor it saves for the backward
// pass (one Identity per saved input or output, ~700 per PPO update on the default preset), and
// tfjs-backend-wasm 4.22's Identity allocates a new heap buffer and copies into it. No wasm kernel
// writes into its inputs (ours and tfjs's write only to outputs they allocate), so the clone can share
// the buffer and count a reference, as the cpu backend's Identity does. Registered over the original
// when the wasm backend starts.
import { tf } from '../tf';

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface WasmBackend {
  incRef(dataId: object): void;
}

let registered = false;

export function registerWasmIdentityKernel(): void {
  if (registered) return;
  registered = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as TensorInfo;
      (backend as unknown as WasmBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype } as tf.TensorInfo;
    },
  });
}
