// Matrix multiply with vec4 global loads, workgroup-memory tiles and 8×4 register blocks (meant for real
// GPUs; autotune decides). Per run r = workgroup_id.z:
//   C[M, N] = op(A) · op(B)   (+ C when ACCUMULATE)
// op(A) = A stored [M, K], or its transpose when TRANS_A (A stored [K, M]);
// op(B) = B stored [K, N], or its transpose when TRANS_B (B stored [N, K]).
// Every buffer holds R contiguous copies: A [R, ·], B [R, ·], C [R, M, N].
//
// A workgroup of WG_X × WG_Y threads computes a TILE_M × TILE_N = 8·WG_Y × 4·WG_X tile of C (64×64 at the
// defaults). For each slice of TILE_K values of k it stages op(A)[tile rows, slice] and op(B)[slice, tile
// columns] in workgroup memory, k-major, as vec4s; global memory is read one vec4 at a time along each
// operand's contiguous dimension, whatever the transposition. Thread (tx, ty) owns the 8×4 block at rows
// 8·ty.., columns 4·tx..: per k it reads two vec4s of the A tile and one of the B tile for 32 FMAs.
// Each C element is one thread's sum over k in ascending order (one fma per k): deterministic.
//
// Two entry points, one arithmetic:
// - `matmul` (aligned): A, B and C are bound as array<vec4<f32>>. The builder chooses it only when every
//   operand's contiguous (leading) dimension — K or M for A, N or K for B, N for C — and every offset
//   and run stride are multiples of 4, so each vec4 lies inside one row and starts 16-byte aligned;
//   stores are vec4 too.
// - `matmulScalar` (any shape): the same tiles, filled element by element from array<f32> bindings, and
//   scalar stores. The staged tiles hold exactly the same values (zeros outside the matrices) and the
//   k loop is the same, so on aligned shapes both entry points give bit-identical results.
// Bounds: staged values outside the matrices are 0 (a clamped, always-valid load, then a select), so
// partial tiles and K not a multiple of TILE_K add nothing; stores are checked. TILE_K is a multiple of 4.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  _pad: u32,
  // Where each run's matrix starts: element offset + run · runStride (see matmul_blocked.wgsl).
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
// Threads along N (x) and M (y), and the k-slice staged per step (a multiple of 4). Workgroup memory:
// 16 · TILE_K · (2·WG_Y + WG_X) bytes (8 KiB at the defaults).
override WG_X: u32 = 16u;
override WG_Y: u32 = 8u;
override TILE_K: u32 = 16u;

// Derived from the above; not meant to be set.
override TILE_M: u32 = 8u * WG_Y;
override TILE_N: u32 = 4u * WG_X;
override THREADS: u32 = WG_X * WG_Y;
override QUADS_M: u32 = 2u * WG_Y;     // TILE_M / 4
override QUADS_K: u32 = TILE_K / 4u;

@group(0) @binding(0) var<uniform> params: Params;
// Aligned entry point.
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c4: array<vec4<f32>>;
// Scalar entry point (same bindings, other element type; no entry point uses both views).
@group(0) @binding(1) var<storage, read> a1: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read_write> c1: array<f32>;

// tileA[k · QUADS_M + m / 4][m % 4] = op(A)[tileRow0 + m, k0 + k];
// tileB[k · WG_X + n / 4][n % 4]    = op(B)[k0 + k, tileCol0 + n].
var<workgroup> tileA: array<vec4<f32>, TILE_K * QUADS_M>;
var<workgroup> tileB: array<vec4<f32>, TILE_K * WG_X>;

// The thread's 8×4 block: acc[i] is row 8·ty + i, its components the 4 columns.
var<private> acc: array<vec4<f32>, 8>;

struct Bases { a: u32, b: u32, c: u32, row0: u32, col0: u32 }

fn bases(wid: vec3<u32>) -> Bases {
  let run = wid.z;
  return Bases(params.aOffset + run * params.aRunStride, params.bOffset + run * params.bRunStride,
               params.cOffset + run * params.cRunStride, wid.y * TILE_M, wid.x * TILE_N);
}

// The fixed-order k loop over one staged slice (identical for both entry points).
fn accumulateSlice(lid: vec3<u32>) {
  for (var k = 0u; k < TILE_K; k++) {
    let bk = tileB[k * WG_X + lid.x];
    let a0 = tileA[k * QUADS_M + 2u * lid.y];
    let a1v = tileA[k * QUADS_M + 2u * lid.y + 1u];
    acc[0] = fma(vec4<f32>(a0.x), bk, acc[0]);
    acc[1] = fma(vec4<f32>(a0.y), bk, acc[1]);
    acc[2] = fma(vec4<f32>(a0.z), bk, acc[2]);
    acc[3] = fma(vec4<f32>(a0.w), bk, acc[3]);
    acc[4] = fma(vec4<f32>(a1v.x), bk, acc[4]);
    acc[5] = fma(vec4<f32>(a1v.y), bk, acc[5]);
    acc[6] = fma(vec4<f32>(a1v.z), bk, acc[6]);
    acc[7] = fma(vec4<f32>(a1v.w), bk, acc[7]);
  }
}

// Staging position of quad e of the A tile: TRANS_A (A [K, M], contiguous along m): quad (m..m+3, k);
// else (A [M, K], contiguous along k): quad (m, k..k+3). Returns (m, k) of its first element.
fn quadA(e: u32) -> vec2<u32> {
  if (TRANS_A) {
    return vec2<u32>(4u * (e % QUADS_M), e / QUADS_M);
  }
  return vec2<u32>(e / QUADS_K, 4u * (e % QUADS_K));
}

// Likewise for the B tile: TRANS_B (B [N, K], contiguous along k): quad (k..k+3, n); else (B [K, N],
// contiguous along n): quad (k, n..n+3). Returns (k, n) of its first element.
fn quadB(e: u32) -> vec2<u32> {
  if (TRANS_B) {
    return vec2<u32>(4u * (e % QUADS_K), e / QUADS_K);
  }
  return vec2<u32>(e / WG_X, 4u * (e % WG_X));
}

// Writes quad `v` (first element at tile position m, k) into tileA.
fn putA(m: u32, k: u32, v: vec4<f32>) {
  if (TRANS_A) {
    tileA[k * QUADS_M + m / 4u] = v;
  } else {
    for (var j = 0u; j < 4u; j++) {
      tileA[(k + j) * QUADS_M + m / 4u][m % 4u] = v[j];
    }
  }
}

fn putB(k: u32, n: u32, v: vec4<f32>) {
  if (TRANS_B) {
    for (var j = 0u; j < 4u; j++) {
      tileB[(k + j) * WG_X + n / 4u][n % 4u] = v[j];
    }
  } else {
    tileB[k * WG_X + n / 4u] = v;
  }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
          @builtin(local_invocation_index) lidx: u32) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let base = bases(wid);
  for (var i = 0u; i < 8u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    for (var e = lidx; e < TILE_K * QUADS_M; e += THREADS) {
      let q = quadA(e);
      let gm = base.row0 + q.x;
      let gk = k0 + q.y;
      var index: u32;
      if (TRANS_A) {  // M % 4 == 0: the quad is all inside or all outside
        index = base.a + min(gk, K - 1u) * M + min(gm, M - 4u);
      } else {        // K % 4 == 0
        index = base.a + min(gm, M - 1u) * K + min(gk, K - 4u);
      }
      putA(q.x, q.y, select(vec4<f32>(0.0), a4[index / 4u], gm < M && gk < K));
    }
    for (var e = lidx; e < TILE_K * WG_X; e += THREADS) {
      let q = quadB(e);
      let gk = k0 + q.x;
      let gn = base.col0 + q.y;
      var index: u32;
      if (TRANS_B) {  // K % 4 == 0
        index = base.b + min(gn, N - 1u) * K + min(gk, K - 4u);
      } else {        // N % 4 == 0
        index = base.b + min(gk, K - 1u) * N + min(gn, N - 4u);
      }
      putB(q.x, q.y, select(vec4<f32>(0.0), b4[index / 4u], gn < N && gk < K));
    }
    workgroupBarrier();
    accumulateSlice(lid);
    workgroupBarrier();
  }

  let col = base.col0 + 4u * lid.x;   // N % 4 == 0: the 4 columns are all inside or all outside
  if (col >= N) { return; }
  for (var i = 0u; i < 8u; i++) {
    let row = base.row0 + 8u * lid.y + i;
    if (row < M) {
      let q = (base.c + row * N + col) / 4u;
      if (ACCUMULATE) {
        c4[q] = c4[q] + acc[i];
      } else {
        c4[q] = acc[i];
      }
    }
  }
}

// Element (m, k) of op(A) as staged (0 outside the matrix).
fn scalarA(aBase: u32, m: u32, k: u32) -> f32 {
  let M = params.M;
  let K = params.K;
  var index: u32;
  if (TRANS_A) {
    index = aBase + min(k, K - 1u) * M + min(m, M - 1u);
  } else {
    index = aBase + min(m, M - 1u) * K + min(k, K - 1u);
  }
  return select(0.0, a1[index], m < M && k < K);
}

fn scalarB(bBase: u32, k: u32, n: u32) -> f32 {
  let N = params.N;
  let K = params.K;
  var index: u32;
  if (TRANS_B) {
    index = bBase + min(n, N - 1u) * K + min(k, K - 1u);
  } else {
    index = bBase + min(k, K - 1u) * N + min(n, N - 1u);
  }
  return select(0.0, b1[index], n < N && k < K);
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmulScalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(local_invocation_index) lidx: u32) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let base = bases(wid);
  for (var i = 0u; i < 8u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    for (var e = lidx; e < TILE_K * QUADS_M; e += THREADS) {
      let q = quadA(e);
      let gm = base.row0 + q.x;
      let gk = k0 + q.y;
      var v: vec4<f32>;
      if (TRANS_A) {  // quad along m
        v = vec4<f32>(scalarA(base.a, gm, gk), scalarA(base.a, gm + 1u, gk),
                      scalarA(base.a, gm + 2u, gk), scalarA(base.a, gm + 3u, gk));
      } else {        // quad along k
        v = vec4<f32>(scalarA(base.a, gm, gk), scalarA(base.a, gm, gk + 1u),
                      scalarA(base.a, gm, gk + 2u), scalarA(base.a, gm, gk + 3u));
      }
      putA(q.x, q.y, v);
    }
    for (var e = lidx; e < TILE_K * WG_X; e += THREADS) {
      let q = quadB(e);
      let gk = k0 + q.x;
      let gn = base.col0 + q.y;
      var v: vec4<f32>;
      if (TRANS_B) {  // quad along k
        v = vec4<f32>(scalarB(base.b, gk, gn), scalarB(base.b, gk + 1u, gn),
                      scalarB(base.b, gk + 2u, gn), scalarB(base.b, gk + 3u, gn));
      } else {        // quad along n
        v = vec4<f32>(scalarB(base.b, gk, gn), scalarB(base.b, gk, gn + 1u),
                      scalarB(base.b, gk, gn + 2u), scalarB(base.b, gk, gn + 3u));
      }
      putB(q.x, q.y, v);
    }
    workgroupBarrier();
    accumulateSlice(lid);
    workgroupBarrier();
  }

  let col = base.col0 + 4u * lid.x;
  for (var i = 0u; i < 8u; i++) {
    let row = base.row0 + 8u * lid.y + i;
    if (row >= M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (col + j < N) {
        let index = base.c + row * N + col + j;
        if (ACCUMULATE) {
          c1[index] = c1[index] + acc[i][j];
        } else {
          c1[index] = acc[i][j];
        }
      }
    }
  }
}
