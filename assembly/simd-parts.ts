// AssemblyScript (not TypeScript): partial vector loads and stores the SIMD kernels share, so a row or a
// tensor whose length is not a multiple of 4 is neither read nor written past its end. Not an entry point:
// matmul.ts and fused.ts inline these.

@inline
export function storeCols(c: usize, v: v128, cols: i32): void {
  if (cols >= 4) {
    v128.store(c, v);
    return;
  }
  store<f32>(c, f32x4.extract_lane(v, 0));
  if (cols > 1) store<f32>(c, f32x4.extract_lane(v, 1), 4);
  if (cols > 2) store<f32>(c, f32x4.extract_lane(v, 2), 8);
}

// The first `cols` (1–4) floats at p, the rest of the vector 0: never reads past a row's end.
@inline
export function loadCols(p: usize, cols: i32): v128 {
  if (cols >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cols > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cols > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}
