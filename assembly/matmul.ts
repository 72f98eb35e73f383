// AssemblyScript source (not TypeScript): a batched f32 matrix product with 128-bit SIMD, working on
// pointers into an imported memory (tfjs-backend-wasm's own heap, so nothing is copied). No runtime,
// no static data, no allocation: the module must not write anywhere but the output and the scratch
// buffer it is handed. Built by `npm run build:simd` into src/engine/kernels/matmul-simd-wasm.ts (see wasm-matmul.ts).
//
// C[t] = A[t] · B[t] for t < batch, every operand addressed by byte strides:
//   A[t](i, p) at a + t·aBatch + i·ars + p·acs        (aBatch 0 broadcasts A)
//   B[t](p, j) at b + t·bBatch + p·brs + j·bcs        (bBatch 0 broadcasts B)
//   C[t](i, j) at c + (t·m + i)·n·4 + j·4             (C is dense, row-major)
// With `bias` not 0, the n floats there are added to every row of every C[t] (a dense layer's x·W + b).
// When B's rows are not contiguous 4-aligned runs (transposed B, or n not a multiple of 4), each batch's
// B is first packed into `scratch` as a row-major [k, n4] block (n4 = n rounded up to 4, zero padded),
// so the inner loop always loads whole vectors. `scratch` needs k·n4·4 bytes.

import { loadCols, storeCols } from './simd-parts';

// Four rows by eight columns.
// With `resume` the sums start from C's values instead of 0 (a later block of k; see productInKBlocks).
@inline
function tile4x8(
  a: usize,
  ars: usize,
  acs: usize,
  b: usize,
  ldb: usize,
  c: usize,
  ldc: usize,
  k: i32,
  bias: usize,
  resume: bool = false,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (resume) {
    c00 = v128.load(c);
    c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc);
    c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc);
    c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc);
    c31 = v128.load(c + 3 * ldc, 16);
  }
  let ap = a;
  let bp = b;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let x = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(ap + ars);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(ap + 2 * ars);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(ap + 3 * ars);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
    ap += acs;
    bp += ldb;
  }
  if (bias) {
    // Added to the finished sums, as a separate add would: the same rounding.
    const bias0 = v128.load(bias);
    const bias1 = v128.load(bias, 16);
    c00 = f32x4.add(c00, bias0);
    c01 = f32x4.add(c01, bias1);
    c10 = f32x4.add(c10, bias0);
    c11 = f32x4.add(c11, bias1);
    c20 = f32x4.add(c20, bias0);
    c21 = f32x4.add(c21, bias1);
    c30 = f32x4.add(c30, bias0);
    c31 = f32x4.add(c31, bias1);
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + ldc, c10);
  v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20);
  v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30);
  v128.store(c + 3 * ldc, c31, 16);
}

// Four rows by up to four columns.
@inline
function tile4x4(
  a: usize,
  ars: usize,
  acs: usize,
  b: usize,
  ldb: usize,
  c: usize,
  ldc: usize,
  k: i32,
  cols: i32,
  bias: usize,
): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let ap = a;
  let bp = b;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp);
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(ap), b0));
    c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(ap + ars), b0));
    c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(ap + 2 * ars), b0));
    c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(ap + 3 * ars), b0));
    ap += acs;
    bp += ldb;
  }
  if (bias) {
    const bias0 = loadCols(bias, cols);
    c0 = f32x4.add(c0, bias0);
    c1 = f32x4.add(c1, bias0);
    c2 = f32x4.add(c2, bias0);
    c3 = f32x4.add(c3, bias0);
  }
  storeCols(c, c0, cols);
  storeCols(c + ldc, c1, cols);
  storeCols(c + 2 * ldc, c2, cols);
  storeCols(c + 3 * ldc, c3, cols);
}

// One row by eight columns.
@inline
function tile1x8(a: usize, acs: usize, b: usize, ldb: usize, c: usize, k: i32, bias: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  let ap = a;
  let bp = b;
  for (let p = 0; p < k; p++) {
    const x = v128.load32_splat(ap);
    c0 = f32x4.add(c0, f32x4.mul(x, v128.load(bp)));
    c1 = f32x4.add(c1, f32x4.mul(x, v128.load(bp, 16)));
    ap += acs;
    bp += ldb;
  }
  if (bias) {
    c0 = f32x4.add(c0, v128.load(bias));
    c1 = f32x4.add(c1, v128.load(bias, 16));
  }
  v128.store(c, c0);
  v128.store(c, c1, 16);
}

// One row by up to four columns.
@inline
function tile1x4(a: usize, acs: usize, b: usize, ldb: usize, c: usize, k: i32, cols: i32, bias: usize): void {
  let c0 = f32x4.splat(0);
  let ap = a;
  let bp = b;
  for (let p = 0; p < k; p++) {
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(ap), v128.load(bp)));
    ap += acs;
    bp += ldb;
  }
  if (bias) c0 = f32x4.add(c0, loadCols(bias, cols));
  storeCols(c, c0, cols);
}

/**
 * One product C = A·B (+ bias, a row of n floats added to every row when not 0), B row-major with row
 * stride ldb bytes (a multiple of 16 wide, or n % 4 == 0).
 */
function product(a: usize, ars: usize, acs: usize, b: usize, ldb: usize, c: usize, m: i32, k: i32, n: i32, bias: usize): void {
  const ldc = (<usize>n) << 2;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const ai = a + <usize>i * ars;
    const ci = c + <usize>i * ldc;
    let j = 0;
    for (; j + 8 <= n; j += 8)
      tile4x8(ai, ars, acs, b + (<usize>j << 2), ldb, ci + (<usize>j << 2), ldc, k, bias ? bias + (<usize>j << 2) : 0);
    for (; j < n; j += 4)
      tile4x4(ai, ars, acs, b + (<usize>j << 2), ldb, ci + (<usize>j << 2), ldc, k, n - j, bias ? bias + (<usize>j << 2) : 0);
  }
  for (; i < m; i++) {
    const ai = a + <usize>i * ars;
    const ci = c + <usize>i * ldc;
    let j = 0;
    for (; j + 8 <= n; j += 8) tile1x8(ai, acs, b + (<usize>j << 2), ldb, ci + (<usize>j << 2), k, bias ? bias + (<usize>j << 2) : 0);
    for (; j < n; j += 4) tile1x4(ai, acs, b + (<usize>j << 2), ldb, ci + (<usize>j << 2), k, n - j, bias ? bias + (<usize>j << 2) : 0);
  }
}

// Rows of k taken per block in productInKBlocks: a block of A's transposed rows (KB·16 bytes a tile) and
// of B's 8-column strip (KB·32 bytes) stay in L1 while every tile of the block runs over them.
const KB: i32 = 128;

/**
 * C = A·B for a transposed A and a long k (a weight gradient xᵀ·dy, k = the rows of a batch), m a multiple
 * of 4 and n of 8, no bias: k in blocks of KB, each block's tiles resuming their sums from C. Every sum is
 * still taken in k order, so C holds the same floats as product() gives; the whole-k loop went to L2 for
 * both operands at every step (29–34 GFLOP/s against 36–39 for these shapes, bench/README.md).
 */
function productInKBlocks(a: usize, ars: usize, acs: usize, b: usize, ldb: usize, c: usize, m: i32, k: i32, n: i32): void {
  const ldc = (<usize>n) << 2;
  for (let p = 0; p < k; p += KB) {
    const kk = min(KB, k - p);
    const ap = a + <usize>p * acs;
    const bp = b + <usize>p * ldb;
    for (let j = 0; j < n; j += 8)
      for (let i = 0; i < m; i += 4)
        tile4x8(ap + <usize>i * ars, ars, acs, bp + (<usize>j << 2), ldb, c + <usize>i * ldc + (<usize>j << 2), ldc, kk, 0, p > 0);
  }
}

/** Packs B(p, j) (byte strides brs, bcs) into dst as row-major [k, n4], zero padded to n4 columns. */
function pack(b: usize, brs: usize, bcs: usize, dst: usize, k: i32, n: i32, n4: i32): void {
  let d = dst;
  for (let p = 0; p < k; p++) {
    let s = b + <usize>p * brs;
    let j = 0;
    if (bcs == 4) {
      for (; j + 4 <= n; j += 4) {
        v128.store(d, v128.load(s));
        d += 16;
        s += 16;
      }
    }
    for (; j < n; j++) {
      store<f32>(d, load<f32>(s));
      d += 4;
      s += bcs;
    }
    for (; j < n4; j++) {
      store<f32>(d, 0);
      d += 4;
    }
  }
}

/** The products (see the header); `bias` 0 for none, else n floats added to every row of C. */
export function matmul(
  a: usize,
  b: usize,
  c: usize,
  batch: i32,
  aBatch: usize,
  bBatch: usize,
  m: i32,
  k: i32,
  n: i32,
  ars: usize,
  acs: usize,
  brs: usize,
  bcs: usize,
  scratch: usize,
  bias: usize,
): void {
  const inPlace = bcs == 4 && (n & 3) == 0 && (brs & 15) == 0;
  if (inPlace && batch == 1 && bias == 0 && acs > ars && k > 2 * KB && (m & 3) == 0 && (n & 7) == 0) {
    productInKBlocks(a, ars, acs, b, brs, c, m, k, n);
    return;
  }
  const n4 = (n + 3) & ~3;
  const cBatch = (<usize>m * <usize>n) << 2;
  let packedFor: usize = 0;
  let packed = false;
  for (let t = 0; t < batch; t++) {
    const at = a + <usize>t * aBatch;
    const bt = b + <usize>t * bBatch;
    const ct = c + <usize>t * cBatch;
    if (inPlace) {
      product(at, ars, acs, bt, brs, ct, m, k, n, bias);
    } else {
      if (!packed || bt != packedFor) {
        pack(bt, brs, bcs, scratch, k, n, n4);
        packedFor = bt;
        packed = true;
      }
      product(at, ars, acs, scratch, (<usize>n4) << 2, ct, m, k, n, bias);
    }
  }
}
