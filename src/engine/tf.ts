// The one place the engine imports TensorFlow.js core from, with the gradient definitions registered.
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export * as tf from '@tensorflow/tfjs-core';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Scalar, Variable } from '@tensorflow/tfjs-core';
