// Node cannot load tfjs-core's ES-module files directly: they import siblings without a file
// extension ("./gradients"), which only bundlers resolve. The engine imports one such file
// (register_all_gradients: the gradient definitions are not in tfjs-core's CommonJS bundle), so for
// Node (CLI, tests) this hook retries an extensionless relative import inside @tensorflow with ".js".
// Browsers never see it: Vite resolves those imports while bundling.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const fromTfjs = context.parentURL && context.parentURL.includes('/@tensorflow/');
    if (fromTfjs && specifier.startsWith('.') && !specifier.endsWith('.js')) return next(specifier + '.js', context);
    throw error;
  }
}`),
);
