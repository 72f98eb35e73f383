// The tape the whole-model gradient (wasm-model.ts, TrlModelGrad) walks back: where each block's saved
// values sit in it. The forward kernel writes one with its pass; a recording sampler
// (wasm-model-cache.ts) writes the same floats a step at a time, so a one-step update can skip the pass.
import type { ModelAttrs } from './wasm-model-rows';

/** Where one block's saved values start in the tape, in floats. */
export interface BlockTape {
  xhat1: number;
  rstd1: number;
  /** LayerNorm 1's output: the QKV projection's input. */
  y1: number;
  qkv: number;
  /** The attention weights [H·B, T, T4]. */
  p: number;
  attended: number;
  xhat2: number;
  rstd2: number;
  y2: number;
  /** The MLP's pre-activation [R, 4d], its GELU [R, 4d] and GELU's σ [R, 4d] (with a tape only). */
  h: number;
  g: number;
  sigmoid: number;
}

export interface TapeLayout {
  blocks: BlockTape[];
  xhatF: number;
  rstdF: number;
  hidden: number;
  floats: number;
}

/** Rows the last block's second half and the heads run on: every row, or the kept positions' (keepFrom). */
export function keptRows(a: Pick<ModelAttrs, 'batch' | 'time' | 'keepFrom'>): number {
  return a.batch * (a.time - a.keepFrom);
}

/**
 * The tape's segments, each rounded up to four floats so every one starts 16-byte aligned. With a tape,
 * the last block's segments after its attention and the final ones hold the kept rows only; without one
 * every block shares block 0's, sized for all rows.
 */
export function tapeLayout(a: ModelAttrs): TapeLayout {
  const rows = a.batch * a.time;
  const kept = a.tape ? keptRows(a) : rows;
  const d = a.dModel;
  let floats = 0;
  const take = (n: number) => {
    const at = floats;
    floats += (n + 3) & ~3;
    return at;
  };
  const blocks: BlockTape[] = [];
  for (let l = 0; l < a.layers; l++) {
    const after = l === a.layers - 1 ? kept : rows;
    blocks.push({
      xhat1: take(rows * d),
      rstd1: take(rows),
      y1: take(rows * d),
      qkv: take(rows * 3 * d),
      p: take(a.heads * a.batch * a.time * ((a.time + 3) & ~3)),
      attended: take(after * d),
      xhat2: take(after * d),
      rstd2: take(after),
      y2: take(after * d),
      h: take(after * 4 * d),
      g: take(after * 4 * d),
      sigmoid: a.tape ? take(after * 4 * d) : -1,
    });
  }
  return { blocks, xhatF: take(kept * d), rstdF: take(kept), hidden: take(kept * d), floats };
}
