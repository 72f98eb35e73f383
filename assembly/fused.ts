// AssemblyScript source (not TypeScript): the model's LayerNorm, GELU and causal attention core (each
// way) and the Adam step as single 128-bit SIMD kernels, on pointers into tfjs-backend-wasm's own heap
// (an imported memory, as assembly/matmul.ts). Each replaces 6–20 tfjs kernel launches; the math is the
// composites' in src/engine/layers.ts and src/engine/optimizer.ts (see src/engine/kernels/wasm-fused.ts).
// No runtime, no static data, no allocation: a kernel writes only its outputs and the scratch it is handed.
// Widths need not be multiples of 4 except the attention's head size (the caller checks).
import { matmul } from './matmul';
import { loadCols, storeCols } from './simd-parts';

const LOG2E: f32 = 1.44269504;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;

// e^x per lane (Cephes' expf: x = n·ln 2 + r, |r| ≤ ln 2 / 2, a degree-7 polynomial; ~1 ulp). n is
// rounded by adding 1.5·2²³ (it then sits in the low mantissa bits, which also give 2ⁿ's exponent), and
// the clamp uses pmin/pmax: one instruction each, where min/max/nearest/trunc_sat take several on x86.
@inline
function expv(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.3)), f32x4.splat(88.3));
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(12582912));
  const n = f32x4.sub(shifted, f32x4.splat(12582912));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  return f32x4.mul(p, i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23));
}

@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline
function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  for (let e = 0; e < n; e += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>e << 2)), v128.load(b + (<usize>e << 2))));
  return hsum(acc);
}

/**
 * dot(a, b_r) for the four rows b_r = b + r·stride (r < 4) as one vector: the four lane sums transposed
 * and added in lane order, the same floats as dot() one row at a time.
 */
@inline
function dot4(a: usize, b: usize, stride: usize, n: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let e = 0; e < n; e += 4) {
    const eo = (<usize>e) << 2;
    const q = v128.load(a + eo);
    a0 = f32x4.add(a0, f32x4.mul(q, v128.load(b + eo)));
    a1 = f32x4.add(a1, f32x4.mul(q, v128.load(b + stride + eo)));
    a2 = f32x4.add(a2, f32x4.mul(q, v128.load(b + 2 * stride + eo)));
    a3 = f32x4.add(a3, f32x4.mul(q, v128.load(b + 3 * stride + eo)));
  }
  const t0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  const r0 = v128.shuffle<f32>(t0, t2, 0, 1, 4, 5);
  const r1 = v128.shuffle<f32>(t0, t2, 2, 3, 6, 7);
  const r2 = v128.shuffle<f32>(t1, t3, 0, 1, 4, 5);
  const r3 = v128.shuffle<f32>(t1, t3, 2, 3, 6, 7);
  return f32x4.add(f32x4.add(f32x4.add(r0, r1), r2), r3);
}

/**
 * out = Σ_{r = from}^{to − 1} w_r · x_r over n floats (n a multiple of 4), summed in r order in registers:
 * weight r at w + (r − from)·wStride bytes, row r at x + r·xStride. The same sums as adding w_r·x_r
 * into zeroed memory one r at a time.
 */
@inline
function weightedSum(w: usize, x: usize, xStride: usize, from: i32, to: i32, out: usize, n: i32, wStride: usize): void {
  let e = 0;
  for (; e + 16 <= n; e += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let xr = x + <usize>from * xStride + ((<usize>e) << 2);
    let wr = w;
    for (let r = from; r < to; r++) {
      const wv = v128.load32_splat(wr);
      a0 = f32x4.add(a0, f32x4.mul(wv, v128.load(xr)));
      a1 = f32x4.add(a1, f32x4.mul(wv, v128.load(xr, 16)));
      a2 = f32x4.add(a2, f32x4.mul(wv, v128.load(xr, 32)));
      a3 = f32x4.add(a3, f32x4.mul(wv, v128.load(xr, 48)));
      xr += xStride;
      wr += wStride;
    }
    const o = out + ((<usize>e) << 2);
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; e < n; e += 4) {
    let a0 = f32x4.splat(0);
    let xr = x + <usize>from * xStride + ((<usize>e) << 2);
    let wr = w;
    for (let r = from; r < to; r++) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(wr), v128.load(xr)));
      xr += xStride;
      wr += wStride;
    }
    v128.store(out + ((<usize>e) << 2), a0);
  }
}

// ---- LayerNorm over rows of x [n, d]: y = x̂·γ + β, x̂ = (x − mean)/√(var + 1e-5); also x̂ and rstd [n].

/** Rows row … row + 3 of layerNorm() (d a multiple of 4), their chains interleaved. */
@inline
function layerNorm4(x: usize, gamma: usize, beta: usize, y: usize, xhat: usize, rstd: usize, row: i32, d: i32, inv: f32): void {
  const rowBytes = (<usize>d) << 2;
  const o0 = x + <usize>row * rowBytes;
  const o1 = o0 + rowBytes;
  const o2 = o1 + rowBytes;
  const o3 = o2 + rowBytes;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let j = 0; j < d; j += 4) {
    const off = <usize>j << 2;
    a0 = f32x4.add(a0, v128.load(o0 + off));
    a1 = f32x4.add(a1, v128.load(o1 + off));
    a2 = f32x4.add(a2, v128.load(o2 + off));
    a3 = f32x4.add(a3, v128.load(o3 + off));
  }
  const m0 = f32x4.splat(hsum(a0) * inv), m1 = f32x4.splat(hsum(a1) * inv);
  const m2 = f32x4.splat(hsum(a2) * inv), m3 = f32x4.splat(hsum(a3) * inv);
  a0 = f32x4.splat(0);
  a1 = f32x4.splat(0);
  a2 = f32x4.splat(0);
  a3 = f32x4.splat(0);
  for (let j = 0; j < d; j += 4) {
    const off = <usize>j << 2;
    const c0 = f32x4.sub(v128.load(o0 + off), m0);
    const c1 = f32x4.sub(v128.load(o1 + off), m1);
    const c2 = f32x4.sub(v128.load(o2 + off), m2);
    const c3 = f32x4.sub(v128.load(o3 + off), m3);
    a0 = f32x4.add(a0, f32x4.mul(c0, c0));
    a1 = f32x4.add(a1, f32x4.mul(c1, c1));
    a2 = f32x4.add(a2, f32x4.mul(c2, c2));
    a3 = f32x4.add(a3, f32x4.mul(c3, c3));
  }
  const r0 = <f32>1 / Mathf.sqrt(hsum(a0) * inv + <f32>1e-5);
  const r1 = <f32>1 / Mathf.sqrt(hsum(a1) * inv + <f32>1e-5);
  const r2 = <f32>1 / Mathf.sqrt(hsum(a2) * inv + <f32>1e-5);
  const r3 = <f32>1 / Mathf.sqrt(hsum(a3) * inv + <f32>1e-5);
  const rAt = rstd + ((<usize>row) << 2);
  store<f32>(rAt, r0);
  store<f32>(rAt, r1, 4);
  store<f32>(rAt, r2, 8);
  store<f32>(rAt, r3, 12);
  layerNormRowOut(o0, m0, f32x4.splat(r0), gamma, beta, xhat + <usize>row * rowBytes, y + <usize>row * rowBytes, d);
  layerNormRowOut(o1, m1, f32x4.splat(r1), gamma, beta, xhat + <usize>(row + 1) * rowBytes, y + <usize>(row + 1) * rowBytes, d);
  layerNormRowOut(o2, m2, f32x4.splat(r2), gamma, beta, xhat + <usize>(row + 2) * rowBytes, y + <usize>(row + 2) * rowBytes, d);
  layerNormRowOut(o3, m3, f32x4.splat(r3), gamma, beta, xhat + <usize>(row + 3) * rowBytes, y + <usize>(row + 3) * rowBytes, d);
}

/** x̂ = (x − mean)·rstd and y = x̂·γ + β of one row (d a multiple of 4). */
@inline
function layerNormRowOut(o: usize, mv: v128, rv: v128, gamma: usize, beta: usize, ho: usize, yo: usize, d: i32): void {
  for (let j = 0; j < d; j += 4) {
    const off = <usize>j << 2;
    const h = f32x4.mul(f32x4.sub(v128.load(o + off), mv), rv);
    v128.store(ho + off, h);
    v128.store(yo + off, f32x4.add(f32x4.mul(h, v128.load(gamma + off)), v128.load(beta + off)));
  }
}

export function layerNorm(x: usize, gamma: usize, beta: usize, y: usize, xhat: usize, rstd: usize, n: i32, d: i32): void {
  const d4 = d & ~3;
  const inv = <f32>1 / <f32>d;
  let row = 0;
  // Four rows at a time when d is a multiple of 4: each row's sums are still one chain in j order (the
  // same floats), but four independent chains keep the adders busy where one waited on each add.
  if (d4 == d) for (; row + 4 <= n; row += 4) layerNorm4(x, gamma, beta, y, xhat, rstd, row, d, inv);
  for (; row < n; row++) {
    const o = x + ((<usize>row * <usize>d) << 2);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j < d4; j += 4) acc = f32x4.add(acc, v128.load(o + (<usize>j << 2)));
    let sum = hsum(acc);
    for (; j < d; j++) sum += load<f32>(o + (<usize>j << 2));
    const mean = sum * inv;
    const mv = f32x4.splat(mean);
    acc = f32x4.splat(0);
    for (j = 0; j < d4; j += 4) {
      const c = f32x4.sub(v128.load(o + (<usize>j << 2)), mv);
      acc = f32x4.add(acc, f32x4.mul(c, c));
    }
    let squares = hsum(acc);
    for (; j < d; j++) {
      const c = load<f32>(o + (<usize>j << 2)) - mean;
      squares += c * c;
    }
    const r = <f32>1 / Mathf.sqrt(squares * inv + <f32>1e-5);
    store<f32>(rstd + (<usize>row << 2), r);
    const rv = f32x4.splat(r);
    const ho = xhat + ((<usize>row * <usize>d) << 2);
    const yo = y + ((<usize>row * <usize>d) << 2);
    for (j = 0; j < d4; j += 4) {
      const off = <usize>j << 2;
      const h = f32x4.mul(f32x4.sub(v128.load(o + off), mv), rv);
      v128.store(ho + off, h);
      v128.store(yo + off, f32x4.add(f32x4.mul(h, v128.load(gamma + off)), v128.load(beta + off)));
    }
    for (; j < d; j++) {
      const off = <usize>j << 2;
      const h = (load<f32>(o + off) - mean) * r;
      store<f32>(ho + off, h);
      store<f32>(yo + off, h * load<f32>(gamma + off) + load<f32>(beta + off));
    }
  }
}

/** dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ; dγ = Σ_rows dy·x̂, dβ = Σ_rows dy. */
export function layerNormGrad(
  dy: usize,
  xhat: usize,
  rstd: usize,
  gamma: usize,
  dx: usize,
  dgamma: usize,
  dbeta: usize,
  n: i32,
  d: i32,
): void {
  const d4 = d & ~3;
  const inv = <f32>1 / <f32>d;
  memory.fill(dgamma, 0, <usize>d << 2);
  memory.fill(dbeta, 0, <usize>d << 2);
  for (let row = 0; row < n; row++) {
    const base = (<usize>row * <usize>d) << 2;
    const yo = dy + base;
    const ho = xhat + base;
    let ag = f32x4.splat(0);
    let agh = f32x4.splat(0);
    let j = 0;
    for (; j < d4; j += 4) {
      const off = <usize>j << 2;
      const dyv = v128.load(yo + off);
      const hv = v128.load(ho + off);
      const g = f32x4.mul(dyv, v128.load(gamma + off));
      ag = f32x4.add(ag, g);
      agh = f32x4.add(agh, f32x4.mul(g, hv));
      v128.store(dgamma + off, f32x4.add(v128.load(dgamma + off), f32x4.mul(dyv, hv)));
      v128.store(dbeta + off, f32x4.add(v128.load(dbeta + off), dyv));
    }
    let sg = hsum(ag);
    let sgh = hsum(agh);
    for (; j < d; j++) {
      const off = <usize>j << 2;
      const dyj = load<f32>(yo + off);
      const hj = load<f32>(ho + off);
      const g = dyj * load<f32>(gamma + off);
      sg += g;
      sgh += g * hj;
      store<f32>(dgamma + off, load<f32>(dgamma + off) + dyj * hj);
      store<f32>(dbeta + off, load<f32>(dbeta + off) + dyj);
    }
    const meanG = sg * inv;
    const meanGH = sgh * inv;
    const r = load<f32>(rstd + (<usize>row << 2));
    const mg = f32x4.splat(meanG);
    const mgh = f32x4.splat(meanGH);
    const rv = f32x4.splat(r);
    const xo = dx + base;
    for (j = 0; j < d4; j += 4) {
      const off = <usize>j << 2;
      const g = f32x4.mul(v128.load(yo + off), v128.load(gamma + off));
      const t = f32x4.sub(f32x4.sub(g, mg), f32x4.mul(v128.load(ho + off), mgh));
      v128.store(xo + off, f32x4.mul(rv, t));
    }
    for (; j < d; j++) {
      const off = <usize>j << 2;
      const g = load<f32>(yo + off) * load<f32>(gamma + off);
      store<f32>(xo + off, r * (g - meanG - load<f32>(ho + off) * meanGH));
    }
  }
}

// ---- GELU, tanh approximation written as x·σ(z), z = 2√(2/π)(x + 0.044715x³) (as layers.ts).

const GELU_C: f32 = 0.7978845608;
const GELU_A: f32 = 0.044715;

@inline
function sigmoidOfGeluArg(x: v128, x2: v128): v128 {
  const z = f32x4.mul(x, f32x4.add(f32x4.mul(x2, f32x4.splat(2 * GELU_C * GELU_A)), f32x4.splat(2 * GELU_C)));
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expv(f32x4.neg(z))));
}

@inline
function geluOf(v: v128): v128 {
  return f32x4.mul(v, sigmoidOfGeluArg(v, f32x4.mul(v, v)));
}

@inline
function geluSlope(v: v128): v128 {
  return geluSlopeWith(v, sigmoidOfGeluArg(v, f32x4.mul(v, v)));
}

/** The slope from σ already computed (the forward pass kept it): the same floats as geluSlope. */
@inline
function geluSlopeWith(v: v128, s: v128): v128 {
  const x2 = f32x4.mul(v, v);
  const dz = f32x4.add(f32x4.mul(x2, f32x4.splat(6 * GELU_C * GELU_A)), f32x4.splat(2 * GELU_C));
  return f32x4.add(s, f32x4.mul(f32x4.mul(v, f32x4.mul(s, f32x4.sub(f32x4.splat(1), s))), dz));
}

// Both loops take four vectors an iteration: V8 rematerialises every vector constant (about twenty
// here) inside the loop, and four independent chains share them; this halves GELU's time. The
// arithmetic per element is unchanged.

/** Elementwise over `count` floats. */
export function gelu(x: usize, y: usize, count: i32): void {
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const xi = x + (<usize>i << 2);
    const yi = y + (<usize>i << 2);
    const r0 = geluOf(v128.load(xi));
    const r1 = geluOf(v128.load(xi, 16));
    const r2 = geluOf(v128.load(xi, 32));
    const r3 = geluOf(v128.load(xi, 48));
    v128.store(yi, r0);
    v128.store(yi, r1, 16);
    v128.store(yi, r2, 32);
    v128.store(yi, r3, 48);
  }
  for (; i < count; i += 4) {
    const off = <usize>i << 2;
    storeCols(y + off, geluOf(loadCols(x + off, count - i)), count - i);
  }
}

/** dx = dy·(σ + x·σ(1 − σ)·2√(2/π)(1 + 3·0.044715x²)). */
export function geluGrad(dy: usize, x: usize, dx: usize, count: i32): void {
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const off = <usize>i << 2;
    const xi = x + off;
    const di = dy + off;
    const r0 = f32x4.mul(v128.load(di), geluSlope(v128.load(xi)));
    const r1 = f32x4.mul(v128.load(di, 16), geluSlope(v128.load(xi, 16)));
    const r2 = f32x4.mul(v128.load(di, 32), geluSlope(v128.load(xi, 32)));
    const r3 = f32x4.mul(v128.load(di, 48), geluSlope(v128.load(xi, 48)));
    v128.store(dx + off, r0);
    v128.store(dx + off, r1, 16);
    v128.store(dx + off, r2, 32);
    v128.store(dx + off, r3, 48);
  }
  for (; i < count; i += 4) {
    const off = <usize>i << 2;
    storeCols(dx + off, f32x4.mul(loadCols(dy + off, count - i), geluSlope(loadCols(x + off, count - i))), count - i);
  }
}

// The whole-model kernels' pair (src/engine/kernels/wasm-model.ts): the forward pass also keeps σ, the
// exp and division that are most of GELU's cost, so the gradient does not compute them again. Same floats
// as gelu() and geluGrad().

/** gelu() that also writes σ(2·√(2/π)(x + 0.044715x³)) to `sig`. */
export function geluKeepingSigmoid(x: usize, y: usize, sig: usize, count: i32): void {
  let i = 0;
  // Four vectors an iteration, as gelu(): the constants are shared by four independent chains.
  for (; i + 16 <= count; i += 16) {
    const off = <usize>i << 2;
    const v0 = v128.load(x + off);
    const v1 = v128.load(x + off, 16);
    const v2 = v128.load(x + off, 32);
    const v3 = v128.load(x + off, 48);
    const s0 = sigmoidOfGeluArg(v0, f32x4.mul(v0, v0));
    const s1 = sigmoidOfGeluArg(v1, f32x4.mul(v1, v1));
    const s2 = sigmoidOfGeluArg(v2, f32x4.mul(v2, v2));
    const s3 = sigmoidOfGeluArg(v3, f32x4.mul(v3, v3));
    v128.store(sig + off, s0);
    v128.store(sig + off, s1, 16);
    v128.store(sig + off, s2, 32);
    v128.store(sig + off, s3, 48);
    v128.store(y + off, f32x4.mul(v0, s0));
    v128.store(y + off, f32x4.mul(v1, s1), 16);
    v128.store(y + off, f32x4.mul(v2, s2), 32);
    v128.store(y + off, f32x4.mul(v3, s3), 48);
  }
  for (; i < count; i += 4) {
    const off = <usize>i << 2;
    const v = loadCols(x + off, count - i);
    const s = sigmoidOfGeluArg(v, f32x4.mul(v, v));
    storeCols(sig + off, s, count - i);
    storeCols(y + off, f32x4.mul(v, s), count - i);
  }
}

/** geluGrad() with σ from geluKeepingSigmoid. */
export function geluGradFromSigmoid(dy: usize, x: usize, sig: usize, dx: usize, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const off = <usize>i << 2;
    const r0 = f32x4.mul(v128.load(dy + off), geluSlopeWith(v128.load(x + off), v128.load(sig + off)));
    const r1 = f32x4.mul(v128.load(dy + off, 16), geluSlopeWith(v128.load(x + off, 16), v128.load(sig + off, 16)));
    v128.store(dx + off, r0);
    v128.store(dx + off, r1, 16);
  }
  for (; i < count; i += 4) {
    const off = <usize>i << 2;
    const slope = geluSlopeWith(loadCols(x + off, count - i), loadCols(sig + off, count - i));
    storeCols(dx + off, f32x4.mul(loadCols(dy + off, count - i), slope), count - i);
  }
}

/** e^x in place over `count` floats (a multiple of 4), four vectors an iteration (see gelu()). */
function expInPlace(x: usize, count: i32): void {
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const o = x + ((<usize>i) << 2);
    const r0 = expv(v128.load(o));
    const r1 = expv(v128.load(o, 16));
    const r2 = expv(v128.load(o, 32));
    const r3 = expv(v128.load(o, 48));
    v128.store(o, r0);
    v128.store(o, r1, 16);
    v128.store(o, r2, 32);
    v128.store(o, r3, 48);
  }
  for (; i < count; i += 4) {
    const o = x + ((<usize>i) << 2);
    v128.store(o, expv(v128.load(o)));
  }
}

// ---- Causal attention from qkv [B·T, 3d] (queries, keys, values side by side, each head-major) to
// out [B·T, d], with the weights p [H·B, T, T4] (group h·B + b, rows padded to T4 = T rounded up to 4
// with zeros) kept for the gradient. hd = d / heads must be a multiple of 4. Only rows from ≤ i < to are
// computed (0 and time for all; a sampler's key/value cache computes its new positions alone): a row's
// numbers do not depend on which other rows run.

export function attention(
  qkv: usize,
  out: usize,
  p: usize,
  batch: i32,
  time: i32,
  heads: i32,
  d: i32,
  from: i32,
  to: i32,
): void {
  const hd = d / heads;
  const t4 = (time + 3) & ~3;
  const scale = <f32>1 / Mathf.sqrt(<f32>hd);
  const rowBytes = (<usize>(3 * d)) << 2;
  for (let h = 0; h < heads; h++) {
    for (let b = 0; b < batch; b++) {
      const x0 = qkv + <usize>(b * time) * rowBytes;
      const q0 = x0 + ((<usize>(h * hd)) << 2);
      const k0 = x0 + ((<usize>(d + h * hd)) << 2);
      const v0 = x0 + ((<usize>(2 * d + h * hd)) << 2);
      const pg = p + ((<usize>((h * batch + b) * time * t4)) << 2);
      for (let i = from; i < to; i++) {
        const qi = q0 + <usize>i * rowBytes;
        const prow = pg + ((<usize>(i * t4)) << 2);
        // Four keys at a time while all four are ≤ i: their four lane sums transposed and added in lane
        // order, the same floats as dot() one key at a time.
        let maxv = f32x4.splat(-Infinity);
        let j = 0;
        for (; j + 3 <= i; j += 4) {
          const sv = f32x4.mul(dot4(qi, k0 + <usize>j * rowBytes, rowBytes, hd), f32x4.splat(scale));
          v128.store(prow + (<usize>j << 2), sv);
          maxv = f32x4.max(maxv, sv);
        }
        const m2 = f32x4.max(maxv, v128.shuffle<f32>(maxv, maxv, 2, 3, 0, 1));
        let max: f32 = Mathf.max(f32x4.extract_lane(m2, 0), f32x4.extract_lane(m2, 1));
        for (; j <= i; j++) {
          const s = dot(qi, k0 + <usize>j * rowBytes, hd) * scale;
          store<f32>(prow + (<usize>j << 2), s);
          if (s > max) max = s;
        }
        // The exp's argument s − max over whole vectors; the exp itself runs over every row at once below.
        const mv = f32x4.splat(max);
        const used = (i + 4) & ~3;
        for (let j = 0; j < used; j += 4) {
          const o = prow + (<usize>j << 2);
          v128.store(o, f32x4.sub(v128.load(o), mv));
        }
      }
      expInPlace(pg + ((<usize>(from * t4)) << 2), (to - from) * t4);
      for (let i = from; i < to; i++) {
        const prow = pg + ((<usize>(i * t4)) << 2);
        // zero everything past the diagonal (padding included), then normalise
        const used = (i + 4) & ~3;
        for (let j = i + 1; j < t4; j++) store<f32>(prow + (<usize>j << 2), 0);
        let acc = f32x4.splat(0);
        for (let j = 0; j < used; j += 4) acc = f32x4.add(acc, v128.load(prow + (<usize>j << 2)));
        const total = hsum(acc);
        const inv = f32x4.splat(<f32>1 / total);
        for (let j = 0; j < used; j += 4) {
          const o = prow + (<usize>j << 2);
          v128.store(o, f32x4.mul(v128.load(o), inv));
        }
        // out_i = Σ_j p_ij v_j, summed in j order in registers
        weightedSum(prow, v0, rowBytes, 0, i + 1, out + ((<usize>((b * time + i) * d + h * hd)) << 2), hd, 4);
      }
    }
  }
}

/**
 * The gradient of attention() for dy [B·T, d], as dqkv [B·T, 3d] (every float written). `scratch` holds
 * (T + 1)·T4 floats: one row's dp, then every row's ds, so dk and dv are summed a key at a time in
 * registers rather than added into memory a query at a time.
 */
export function attentionGrad(
  dy: usize,
  qkv: usize,
  p: usize,
  dqkv: usize,
  scratch: usize,
  batch: i32,
  time: i32,
  heads: i32,
  d: i32,
  from: i32,
): void {
  const hd = d / heads;
  const t4 = (time + 3) & ~3;
  const scale = <f32>1 / Mathf.sqrt(<f32>hd);
  const rowBytes = (<usize>(3 * d)) << 2;
  const dyRowBytes = (<usize>d) << 2;
  // scratch: dp_i· [T4], then ds [T, T4]
  const dsAll = scratch + ((<usize>t4) << 2);
  for (let h = 0; h < heads; h++) {
    for (let b = 0; b < batch; b++) {
      const qOff = (<usize>(h * hd)) << 2;
      const kOff = (<usize>(d + h * hd)) << 2;
      const vOff = (<usize>(2 * d + h * hd)) << 2;
      const x0 = qkv + <usize>(b * time) * rowBytes;
      const g0 = dqkv + <usize>(b * time) * rowBytes;
      const dy0 = dy + <usize>(b * time) * dyRowBytes + ((<usize>(h * hd)) << 2);
      const pg = p + ((<usize>((h * batch + b) * time * t4)) << 2);
      // Queries before `from` were not computed (the model kept only later positions): their dq is 0 and
      // they add nothing to dk and dv, as a zero dOut_i would.
      for (let i = 0; i < from; i++)
        for (let e = 0; e < hd; e += 4) v128.store(g0 + <usize>i * rowBytes + qOff + ((<usize>e) << 2), f32x4.splat(0));
      for (let i = from; i < time; i++) {
        const gi = dy0 + <usize>i * dyRowBytes;
        const prow = pg + ((<usize>(i * t4)) << 2);
        const dsRow = dsAll + ((<usize>(i * t4)) << 2);
        // dp_ij = dOut_i · v_j, four keys at a time (dot4: the same floats as dot)
        let j = 0;
        for (; j + 3 <= i; j += 4) v128.store(scratch + (<usize>j << 2), dot4(gi, x0 + <usize>j * rowBytes + vOff, rowBytes, hd));
        for (; j <= i; j++) store<f32>(scratch + (<usize>j << 2), dot(gi, x0 + <usize>j * rowBytes + vOff, hd));
        let weighted: f32 = 0;
        for (let j = 0; j <= i; j++) weighted += load<f32>(scratch + (<usize>j << 2)) * load<f32>(prow + (<usize>j << 2));
        // ds_ij = p_ij (dp_ij − Σ_j' p_ij' dp_ij') · scale; dq_i = Σ_j ds_ij k_j, in j order
        for (let j = 0; j <= i; j++)
          store<f32>(dsRow + (<usize>j << 2), load<f32>(prow + (<usize>j << 2)) * (load<f32>(scratch + (<usize>j << 2)) - weighted) * scale);
        weightedSum(dsRow, x0 + kOff, rowBytes, 0, i + 1, g0 + <usize>i * rowBytes + qOff, hd, 4);
      }
      // dv_j = Σ_{i ≥ j} p_ij dOut_i and dk_j = Σ_{i ≥ j} ds_ij q_i, each summed in i order in registers
      // (the same sums as adding into zeroed memory row by row).
      const t4Bytes = (<usize>t4) << 2;
      for (let j = 0; j < time; j++) {
        const column = (<usize>j) << 2;
        const first = max(j, from);
        weightedSum(pg + <usize>first * t4Bytes + column, dy0, dyRowBytes, first, time, g0 + <usize>j * rowBytes + vOff, hd, t4Bytes);
        weightedSum(dsAll + <usize>first * t4Bytes + column, x0 + qOff, rowBytes, first, time, g0 + <usize>j * rowBytes + kOff, hd, t4Bytes);
      }
    }
  }
}

// ---- Adam on the flat parameter vector with global-norm clipping (0 = off); returns the norm. 1 − β
// comes from the caller, worked out in double precision as the composite's (1 − 0.999f is 5e-5 off).

export function adam(
  g: usize,
  p0: usize,
  m0: usize,
  v0: usize,
  p1: usize,
  m1: usize,
  v1: usize,
  count: i32,
  beta1: f32,
  beta2: f32,
  oneMinusBeta1: f32,
  oneMinusBeta2: f32,
  epsilon: f32,
  stepSize: f32,
  maxGradNorm: f32,
): f32 {
  const n4 = count & ~3;
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i < n4; i += 4) {
    const v = v128.load(g + (<usize>i << 2));
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  let squares = hsum(acc);
  for (; i < count; i++) {
    const v = load<f32>(g + (<usize>i << 2));
    squares += v * v;
  }
  const norm = Mathf.sqrt(squares);
  const scale: f32 = maxGradNorm > 0 ? Mathf.min(1, maxGradNorm / (norm + <f32>1e-6)) : 1;
  const sv = f32x4.splat(scale);
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(oneMinusBeta1);
  const c2 = f32x4.splat(oneMinusBeta2);
  const ev = f32x4.splat(epsilon);
  const lr = f32x4.splat(stepSize);
  for (i = 0; i < n4; i += 4) {
    const off = <usize>i << 2;
    const c = f32x4.mul(v128.load(g + off), sv);
    const m = f32x4.add(f32x4.mul(v128.load(m0 + off), b1), f32x4.mul(c, c1));
    const v = f32x4.add(f32x4.mul(v128.load(v0 + off), b2), f32x4.mul(f32x4.mul(c, c), c2));
    v128.store(m1 + off, m);
    v128.store(v1 + off, v);
    const step = f32x4.mul(lr, f32x4.div(m, f32x4.add(f32x4.sqrt(v), ev)));
    v128.store(p1 + off, f32x4.sub(v128.load(p0 + off), step));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    const c = load<f32>(g + off) * scale;
    const m = load<f32>(m0 + off) * beta1 + c * oneMinusBeta1;
    const v = load<f32>(v0 + off) * beta2 + c * c * oneMinusBeta2;
    store<f32>(m1 + off, m);
    store<f32>(v1 + off, v);
    store<f32>(p1 + off, load<f32>(p0 + off) - stepSize * (m / (Mathf.sqrt(v) + epsilon)));
  }
  return norm;
}

// ---- The per-token policy loss of src/engine/algorithms/fused-loss.ts (see its header for the math),
// value, terms and gradient in one pass over the rows (B·T tokens of `vocab` logits each). Plain scalar
// code: the vocabulary is a handful of tokens. mask is bool (one byte a token), next int32. Writes dz
// [rows, vocab], dv [rows] (when `valueTerm`) and six sums to `stats`: total, policy, clipfrac,
// approx_kl, value loss, value clipfrac (already divided by the token count: × inv).
// GRPO's form: with `weights` not 0, token t's policy and KL terms are weighted by
// weights[t / weightSpan] (its loss aggregation: one weight a response, or one for all) instead of 1/n;
// with `clipHigh` the ratio is clipped to [1 − eps, 1 + epsHigh] (DAPO's clip-higher).

export function tokenLoss(
  z: usize,
  v: usize,
  next: usize,
  mask: usize,
  adv: usize,
  oldLogp: usize,
  refLogp: usize,
  ret: usize,
  oldV: usize,
  dz: usize,
  dv: usize,
  stats: usize,
  rows: i32,
  vocab: i32,
  inv: f32,
  clipped: i32,
  eps: f32,
  klBeta: f32,
  entropyCoef: f32,
  critic: i32,
  valueTerm: i32,
  valueCoef: f32,
  valueClip: f32,
  weights: usize,
  weightSpan: i32,
  clipHigh: i32,
  epsHigh: f32,
): void {
  let policy: f64 = 0, clipfrac: f64 = 0, approxKl: f64 = 0, k3Sum: f64 = 0, entropySum: f64 = 0;
  let valueLoss: f64 = 0, valueClipfrac: f64 = 0;
  for (let t = 0; t < rows; t++) {
    const zt = z + ((<usize>t * <usize>vocab) << 2);
    const dzt = dz + ((<usize>t * <usize>vocab) << 2);
    const o = <usize>t << 2;
    const m: f32 = load<u8>(mask + <usize>t) != 0 ? 1 : 0;
    // log-softmax: z − max − log Σ exp(z − max)
    let max = load<f32>(zt);
    for (let j = 1; j < vocab; j++) max = Mathf.max(max, load<f32>(zt + (<usize>j << 2)));
    let total: f32 = 0;
    for (let j = 0; j < vocab; j++) total += Mathf.exp(load<f32>(zt + (<usize>j << 2)) - max);
    const logTotal = Mathf.log(total);
    const a = load<i32>(next + o);
    const logp = load<f32>(zt + (<usize>a << 2)) - max - logTotal;
    const A = load<f32>(adv + o);
    // The policy and KL terms' weight: m (divided by n at the end), or m · the token's weight.
    const pw: f32 = weights ? m * load<f32>(weights + ((<usize>(t / weightSpan)) << 2)) : m;
    let g: f32;
    if (clipped) {
      const logRatio: f32 = m != 0 ? logp - load<f32>(oldLogp + o) : 0;
      const ratio = Mathf.exp(logRatio);
      const unclipped = -A * ratio;
      const clippedTerm = -A * Mathf.min(Mathf.max(ratio, 1 - eps), 1 + (clipHigh ? epsHigh : eps));
      policy += pw * Mathf.max(unclipped, clippedTerm);
      g = unclipped >= clippedTerm ? unclipped : 0;
      if (clipHigh ? ratio < 1 - eps || ratio > 1 + epsHigh : Mathf.abs(ratio - 1) > eps) clipfrac += m;
      approxKl += m * (ratio - 1 - logRatio);
    } else {
      policy += pw * (-A * logp);
      g = -A;
    }
    if (klBeta > 0) {
      const refLogRatio: f32 = m != 0 ? load<f32>(refLogp + o) - logp : 0;
      const refRatio = Mathf.exp(refLogRatio);
      k3Sum += pw * (refRatio - refLogRatio - 1);
      g += klBeta * (1 - refRatio);
    }
    const gs = g * (weights ? pw : m * inv);
    if (entropyCoef > 0) {
      let h: f32 = 0;
      for (let j = 0; j < vocab; j++) {
        const ls = load<f32>(zt + (<usize>j << 2)) - max - logTotal;
        h -= Mathf.exp(ls) * ls;
      }
      entropySum += m * h;
      const e = -entropyCoef * (m * inv);
      for (let j = 0; j < vocab; j++) {
        const ls = load<f32>(zt + (<usize>j << 2)) - max - logTotal;
        const p = Mathf.exp(ls);
        store<f32>(dzt + (<usize>j << 2), (j == a ? gs : 0) - p * (gs + e * (ls + h)));
      }
    } else {
      for (let j = 0; j < vocab; j++) {
        const p = Mathf.exp(load<f32>(zt + (<usize>j << 2)) - max - logTotal);
        store<f32>(dzt + (<usize>j << 2), gs * ((j == a ? <f32>1 : 0) - p));
      }
    }
    if (critic) {
      const value = load<f32>(v + o);
      const R = load<f32>(ret + o);
      const error = value - R;
      let perToken: f32;
      let grad: f32;
      if (valueClip > 0) {
        const old = load<f32>(oldV + o);
        const delta = value - old;
        const clippedError = old + Mathf.min(Mathf.max(delta, -valueClip), valueClip) - R;
        const sa = error * error;
        const sb = clippedError * clippedError;
        perToken = 0.5 * Mathf.max(sa, sb);
        grad = sa >= sb ? error : Mathf.abs(delta) <= valueClip ? clippedError : 0;
        if (Mathf.abs(delta) > valueClip) valueClipfrac += m;
      } else {
        perToken = 0.5 * error * error;
        grad = error;
      }
      valueLoss += m * perToken;
      if (valueTerm) store<f32>(dv + o, grad * (m * inv) * valueCoef);
    }
  }
  const fi = <f64>inv;
  const pf: f64 = weights ? 1 : fi;
  const policyMean = <f32>(policy * pf);
  let sum: f32 = policyMean;
  if (klBeta > 0) sum += klBeta * <f32>(k3Sum * pf);
  if (entropyCoef > 0) sum += -entropyCoef * <f32>(entropySum * fi);
  const valueMean = <f32>(valueLoss * fi);
  if (critic && valueTerm) sum += valueCoef * valueMean;
  store<f32>(stats, sum);
  store<f32>(stats, policyMean, 4);
  store<f32>(stats, <f32>(clipfrac * fi), 8);
  store<f32>(stats, <f32>(approxKl * fi), 12);
  store<f32>(stats, valueMean, 16);
  store<f32>(stats, <f32>(valueClipfrac * fi), 20);
}

// ---- The gradient of a dense layer y = x·W + b (x [rows, in], W [in, out]): dx = dy·Wᵀ, dW = xᵀ·dy,
// db = Σ_rows dy, with assembly/matmul.ts's product. `scratch` holds max(out·in4, rows·out4) floats
// (in4, out4: rounded up to 4) for the packed transposed or narrow operand.

export function denseGrad(
  dy: usize,
  x: usize,
  w: usize,
  dx: usize,
  dw: usize,
  db: usize,
  rows: i32,
  inW: i32,
  outW: i32,
  scratch: usize,
): void {
  const inB = <usize>inW << 2;
  const outB = <usize>outW << 2;
  matmul(dy, w, dx, 1, 0, 0, rows, outW, inW, outB, 4, 4, outB, scratch, 0);
  matmul(x, dy, dw, 1, 0, 0, inW, rows, outW, 4, inB, outB, 4, scratch, 0);
  const o4 = outW & ~3;
  memory.fill(db, 0, outB);
  for (let r = 0; r < rows; r++) {
    const row = dy + <usize>r * outB;
    let j = 0;
    for (; j < o4; j += 4) {
      const off = <usize>j << 2;
      v128.store(db + off, f32x4.add(v128.load(db + off), v128.load(row + off)));
    }
    for (; j < outW; j++) {
      const off = <usize>j << 2;
      store<f32>(db + off, load<f32>(db + off) + load<f32>(row + off));
    }
  }
}

// ---- out = a + b elementwise, b repeated over a's leading axes: out[i] = a[i] + b[i mod bCount] (bCount
// divides count; bCount == count for two tensors of one shape). tfjs-backend-wasm 4.22's Add walks a
// broadcast index per element, ~3 ns a float at these sizes; this is the same sum a float at a time.

export function addRepeated(a: usize, b: usize, out: usize, count: i32, bCount: i32): void {
  for (let block = 0; block < count; block += bCount) {
    const ab = a + ((<usize>block) << 2);
    const ob = out + ((<usize>block) << 2);
    let j = 0;
    for (; j + 4 <= bCount; j += 4) {
      const off = (<usize>j) << 2;
      v128.store(ob + off, f32x4.add(v128.load(ab + off), v128.load(b + off)));
    }
    for (; j < bCount; j++) {
      const off = (<usize>j) << 2;
      store<f32>(ob + off, load<f32>(ab + off) + load<f32>(b + off));
    }
  }
}

// ---- The embeddings of the whole-model kernels (src/engine/kernels/wasm-model*.ts). Row r of x is the
// token plus position embedding of buffer row whole(r) = (r / n)·time + from + r mod n of ids [B, T]
// (n = time and from = 0: the whole buffer; a sampler's cache embeds its new positions alone). The
// one-hot product of the per-layer path picks one table row, the same float, so this is one add a float.

export function embed(ids: usize, tok: usize, pos: usize, x: usize, rows: i32, d: i32, time: i32, from: i32, n: i32): void {
  const rowBytes = (<usize>d) << 2;
  for (let r = 0; r < rows; r++) {
    const whole = (r / n) * time + from + (r % n);
    const e = tok + <usize>load<i32>(ids + ((<usize>whole) << 2)) * rowBytes;
    const p = pos + <usize>(whole % time) * rowBytes;
    const out = x + <usize>r * rowBytes;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const off = (<usize>j) << 2;
      v128.store(out + off, f32x4.add(v128.load(e + off), v128.load(p + off)));
    }
    for (; j < d; j++) {
      const off = (<usize>j) << 2;
      store<f32>(out + off, load<f32>(e + off) + load<f32>(p + off));
    }
  }
}

// The embeddings' gradient from dx [B·T, d]: each token's table row gets its rows added in row order
// (into dTok, which holds zeros or earlier sums), and each position's the batch's in batch order, as
// tfjs's one-hot product and Sum over axis 0 add them: float32 sums in the same order.
export function embedGrad(dx: usize, ids: usize, dTok: usize, dPos: usize, batch: i32, time: i32, d: i32): void {
  const rowBytes = (<usize>d) << 2;
  const rows = batch * time;
  for (let r = 0; r < rows; r++) {
    const e = dTok + <usize>load<i32>(ids + ((<usize>r) << 2)) * rowBytes;
    const src = dx + <usize>r * rowBytes;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const off = (<usize>j) << 2;
      v128.store(e + off, f32x4.add(v128.load(e + off), v128.load(src + off)));
    }
    for (; j < d; j++) {
      const off = (<usize>j) << 2;
      store<f32>(e + off, load<f32>(e + off) + load<f32>(src + off));
    }
  }
  const stride = <usize>time * rowBytes;
  for (let t = 0; t < time; t++) {
    const out = dPos + <usize>t * rowBytes;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const off = (<usize>j) << 2;
      let sum = f32x4.splat(0);
      let src = dx + <usize>t * rowBytes + off;
      for (let b = 0; b < batch; b++) {
        sum = f32x4.add(sum, v128.load(src));
        src += stride;
      }
      v128.store(out + off, sum);
    }
    for (; j < d; j++) {
      const off = (<usize>j) << 2;
      let sum: f32 = 0;
      let src = dx + <usize>t * rowBytes + off;
      for (let b = 0; b < batch; b++) {
        sum += load<f32>(src);
        src += stride;
      }
      store<f32>(out + off, sum);
    }
  }
}

// ---- A sampler's cache (src/engine/kernels/wasm-model-cache.ts) moves rows between a compact buffer of
// its new positions (row r = b·n + (i − from)) and whole-buffer ones (row b·T + i), `width` floats a row.

export function copyRows(src: usize, dst: usize, rows: i32, n: i32, time: i32, from: i32, width: i32, toWhole: bool): void {
  const rowBytes = (<usize>width) << 2;
  for (let r = 0; r < rows; r++) {
    const whole = <usize>((r / n) * time + from + (r % n));
    const compact = <usize>r;
    const to = dst + (toWhole ? whole : compact) * rowBytes;
    const from_ = src + (toWhole ? compact : whole) * rowBytes;
    // A loop, not memory.copy: rows are 1 to 3d floats, and V8 calls out for a memory.copy of a variable size.
    let j: usize = 0;
    for (; j + 16 <= rowBytes; j += 16) v128.store(to + j, v128.load(from_ + j));
    for (; j < rowBytes; j += 4) store<f32>(to + j, load<f32>(from_ + j));
  }
}

// ---- A recording sampler (wasm-model-cache.ts) copies `count` rows of each of `batch` groups: row
// b·srcStride + srcStart + k of src to row b·dstStride + dstStart + k of dst, `width` floats a row.

export function copyRowRange(
  src: usize,
  dst: usize,
  batch: i32,
  count: i32,
  srcStride: i32,
  srcStart: i32,
  dstStride: i32,
  dstStart: i32,
  width: i32,
): void {
  const rowBytes = (<usize>width) << 2;
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < count; k++) {
      const from_ = src + <usize>(b * srcStride + srcStart + k) * rowBytes;
      const to = dst + <usize>(b * dstStride + dstStart + k) * rowBytes;
      let j: usize = 0;
      for (; j + 16 <= rowBytes; j += 16) v128.store(to + j, v128.load(from_ + j));
      for (; j < rowBytes; j += 4) store<f32>(to + j, load<f32>(from_ + j));
    }
  }
}
