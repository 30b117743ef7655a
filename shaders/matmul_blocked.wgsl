// Matrix multiply, register-blocked, no workgroup memory (the fast variant on CPU adapters such as
// SwiftShader). Per run r = workgroup_id.z:
//   C[M, N] = op(A) · op(B)   (+ C when ACCUMULATE)
// op(A) = A stored [M, K], or its transpose when TRANS_A (A stored [K, M]);
// op(B) = B stored [K, N], or its transpose when TRANS_B (B stored [N, K]).
// Every buffer holds R contiguous copies: A [R, ·], B [R, ·], C [R, M, N].
//
// Each thread owns a 4×4 block of C: rows 4·ty .. 4·ty+3 and columns tx + j·WG_X, j = 0..3, held in
// four vec4 accumulators: per k it loads 4 elements of op(A) and 4 of op(B) for 16 FMAs (a naive kernel
// does 2 loads per FMA). Neighbouring invocations take neighbouring columns, so a CPU adapter running 4
// invocations per SIMD vector can serve them with one vector load (SwiftShader tests lane offsets for
// "equal" and "sequential" at run time); on SwiftShader this measured the same as 4 adjacent columns
// per thread, ~3.3 GFLOP/s at 512³ in every transposition. Accumulators stay in named variables: an
// array indexed in a loop measured 4× slower there. Each C element is one thread's sum over k in
// ascending order: deterministic.
//
// Bounds: row and column indices are clamped into the matrix, so every load is valid without a branch
// (a divergent branch would force the slow per-lane path); results of clamped rows/columns are never
// stored. k runs exactly over 0..K-1, so nothing outside the matrices enters a sum.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  _pad: u32,
  // Where each run's matrix starts: element offset + run · runStride. Dense [R, …] buffers use
  // offset 0 and stride = matrix size; a weight inside the model's flat [R, P] parameter buffer uses
  // the tensor's offset and stride P.
  aOffset: u32,
  aRunStride: u32,
  bOffset: u32,
  bRunStride: u32,
  cOffset: u32,
  cRunStride: u32,
  _pad1: u32,
  _pad2: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
// Threads per workgroup along N (x) and M (y); a workgroup covers 4·WG_Y rows × 4·WG_X columns.
// Keep WG_X a multiple of 4 so that a SIMD group of 4 invocations shares its rows.
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

/** op(A)[m, k] of the run whose A starts at `base`. */
fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (TRANS_A) {
    return a[base + k * params.M + m];
  }
  return a[base + m * params.K + k];
}

/** op(B)[k, n] of the run whose B starts at `base`. */
fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) {
    return b[base + n * params.K + k];
  }
  return b[base + k * params.N + n];
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let run = wid.z;
  let aBase = params.aOffset + run * params.aRunStride;
  let bBase = params.bOffset + run * params.bRunStride;
  let cBase = params.cOffset + run * params.cRunStride;

  let row0 = (wid.y * WG_Y + lid.y) * 4u;
  let col0 = wid.x * WG_X * 4u + lid.x;
  let rows = vec4<u32>(row0, row0 + 1u, row0 + 2u, row0 + 3u);
  let cols = vec4<u32>(col0, col0 + WG_X, col0 + 2u * WG_X, col0 + 3u * WG_X);
  let r = min(rows, vec4<u32>(M - 1u));
  let n = min(cols, vec4<u32>(N - 1u));

  // accI holds row 4·ty + I of the block; its components are the 4 columns.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < K; k++) {
    let bk = vec4<f32>(loadB(bBase, k, n.x), loadB(bBase, k, n.y), loadB(bBase, k, n.z), loadB(bBase, k, n.w));
    acc0 = fma(vec4<f32>(loadA(aBase, r.x, k)), bk, acc0);
    acc1 = fma(vec4<f32>(loadA(aBase, r.y, k)), bk, acc1);
    acc2 = fma(vec4<f32>(loadA(aBase, r.z, k)), bk, acc2);
    acc3 = fma(vec4<f32>(loadA(aBase, r.w, k)), bk, acc3);
  }

  storeRow(cBase, rows.x, cols, acc0);
  storeRow(cBase, rows.y, cols, acc1);
  storeRow(cBase, rows.z, cols, acc2);
  storeRow(cBase, rows.w, cols, acc3);
}

fn storeRow(cBase: u32, row: u32, cols: vec4<u32>, values: vec4<f32>) {
  if (row >= params.M) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (cols[j] < params.N) {
      let index = cBase + row * params.N + cols[j];
      if (ACCUMULATE) {
        c[index] = c[index] + values[j];
      } else {
        c[index] = values[j];
      }
    }
  }
}
