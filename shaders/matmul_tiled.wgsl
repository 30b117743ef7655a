// Matrix multiply, shared-memory tiled with 4×4 register blocks (the fast variant on real GPUs).
// Per run r = workgroup_id.z:
//   C[M, N] = op(A) · op(B)   (+ C when ACCUMULATE)
// op(A) = A stored [M, K], or its transpose when TRANS_A (A stored [K, M]);
// op(B) = B stored [K, N], or its transpose when TRANS_B (B stored [N, K]).
// Every buffer holds R contiguous copies: A [R, ·], B [R, ·], C [R, M, N].
//
// A workgroup of WG_X × WG_Y threads computes a TILE_M × TILE_N = 4·WG_Y × 4·WG_X tile of C. For each
// slice of TILE_K values of k it stages op(A)[tile rows, slice] and op(B)[slice, tile columns] in
// workgroup memory, k-major, reading global memory in its contiguous order whatever the transposition
// (consecutive invocations read consecutive addresses). Thread (tx, ty) owns the 4×4 block at rows
// 4·ty.., columns 4·tx..: per k it reads one vec4 of each tile (consecutive threads, consecutive vec4s)
// and does 16 FMAs. Each C element is one thread's sum over k in ascending order: deterministic.
//
// Bounds: staged elements outside the matrices are 0 (a clamped, always-valid load, then a select:
// no divergent branch), so partial tiles and K not a multiple of TILE_K add nothing; stores are checked.

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
// Threads along N (x) and M (y), and the k-slice staged per step. Workgroup memory used:
// 4 · TILE_K · (TILE_M + TILE_N) bytes (8 KiB at the defaults).
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TILE_K: u32 = 16u;

// Derived from the above; not meant to be set.
override TILE_M: u32 = 4u * WG_Y;
override TILE_N: u32 = 4u * WG_X;
override THREADS: u32 = WG_X * WG_Y;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Scalar view: tileA[k · TILE_M + m] = op(A)[tileRow0 + m, k0 + k], tileB[k · TILE_N + n] = op(B)[k0 + k,
// tileCol0 + n]; stored as vec4s so that a thread's 4 rows (4 columns) at one k are one load.
var<workgroup> tileA: array<vec4<f32>, TILE_K * WG_Y>;
var<workgroup> tileB: array<vec4<f32>, TILE_K * WG_X>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
          @builtin(local_invocation_index) lidx: u32) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let run = wid.z;
  let aBase = params.aOffset + run * params.aRunStride;
  let bBase = params.bOffset + run * params.bRunStride;
  let cBase = params.cOffset + run * params.cRunStride;
  let tileRow0 = wid.y * TILE_M;
  let tileCol0 = wid.x * TILE_N;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    for (var e = lidx; e < TILE_K * TILE_M; e += THREADS) {
      var m: u32;
      var k: u32;
      if (TRANS_A) {  // A stored [K, M]: walk m fastest
        m = e % TILE_M;
        k = e / TILE_M;
      } else {        // A stored [M, K]: walk k fastest
        k = e % TILE_K;
        m = e / TILE_K;
      }
      let gm = tileRow0 + m;
      let gk = k0 + k;
      let cm = min(gm, M - 1u);
      let ck = min(gk, K - 1u);
      var value: f32;
      if (TRANS_A) {
        value = a[aBase + ck * M + cm];
      } else {
        value = a[aBase + cm * K + ck];
      }
      tileA[k * WG_Y + m / 4u][m % 4u] = select(0.0, value, gm < M && gk < K);
    }
    for (var e = lidx; e < TILE_K * TILE_N; e += THREADS) {
      var n: u32;
      var k: u32;
      if (TRANS_B) {  // B stored [N, K]: walk k fastest
        k = e % TILE_K;
        n = e / TILE_K;
      } else {        // B stored [K, N]: walk n fastest
        n = e % TILE_N;
        k = e / TILE_N;
      }
      let gn = tileCol0 + n;
      let gk = k0 + k;
      let cn = min(gn, N - 1u);
      let ck = min(gk, K - 1u);
      var value: f32;
      if (TRANS_B) {
        value = b[bBase + cn * K + ck];
      } else {
        value = b[bBase + ck * N + cn];
      }
      tileB[k * WG_X + n / 4u][n % 4u] = select(0.0, value, gn < N && gk < K);
    }
    workgroupBarrier();

    for (var k = 0u; k < TILE_K; k++) {
      let ak = tileA[k * WG_Y + lid.y];
      let bk = tileB[k * WG_X + lid.x];
      acc0 = fma(vec4<f32>(ak.x), bk, acc0);
      acc1 = fma(vec4<f32>(ak.y), bk, acc1);
      acc2 = fma(vec4<f32>(ak.z), bk, acc2);
      acc3 = fma(vec4<f32>(ak.w), bk, acc3);
    }
    workgroupBarrier();
  }

  let row = tileRow0 + 4u * lid.y;
  let cols = tileCol0 + 4u * lid.x + vec4<u32>(0u, 1u, 2u, 3u);
  storeRow(cBase, row, cols, acc0);
  storeRow(cBase, row + 1u, cols, acc1);
  storeRow(cBase, row + 2u, cols, acc2);
  storeRow(cBase, row + 3u, cols, acc3);
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
