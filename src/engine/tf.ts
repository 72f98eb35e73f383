// The one place the engine imports TensorFlow.js core from, with the gradient definitions registered.
// Order matters in Node: tfjs-core's main build must create the global engine before the gradient
// module (an ES build, loaded through scripts/node-tfjs-resolve.mjs) is evaluated.
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export * as tf from '@tensorflow/tfjs-core';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Scalar, Variable } from '@tensorflow/tfjs-core';
