// Global gradient norm and clip scale, per run, for gradient clipping (torch.nn.utils.clip_grad_norm_).
//
//   grads [R, P]  →  stats [R, 2] = (norm, clipScale)
//   norm      = sqrt(Σ_j grads[r, j]²)
//   clipScale = min(1, maxNorm / (norm + 1e-6))   when maxNorm > 0, else 1
//   A non-finite norm (a NaN/Inf gradient, or a sum of squares beyond the f32 range) is written as is
//   (NaN stays NaN, Inf stays Inf) and its clipScale is 0; AdamW then skips that run entirely.
//
// Deterministic two-stage reduction (no atomics, fixed trees, bit-identical run to run):
//   sumSquares: one workgroup per (run, chunk of CHUNK values) → partials [R, chunks]
//   finalize:   one workgroup per run reduces its `chunks` partials → stats [R, 2]

struct Params {
  P: u32,         // parameters per run
  chunks: u32,    // partials per run = ceil(P / CHUNK)
  maxNorm: f32,   // ≤ 0 disables clipping (clipScale 1)
  pad: u32,
}

const WORKGROUP_SIZE: u32 = 256u;
const VALUES_PER_THREAD: u32 = 8u;
const CHUNK: u32 = 2048u;  // WORKGROUP_SIZE * VALUES_PER_THREAD; keep src/kernels/gradNorm.ts in step
const EXPONENT_MASK: u32 = 0x7f800000u;

@group(0) @binding(0) var<uniform> params: Params;

var<workgroup> scratch: array<f32, WORKGROUP_SIZE>;

// Exponent bits all set: Inf or NaN. A bit test, because WGSL compilers may assume floats are finite.
fn isNonFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & EXPONENT_MASK) == EXPONENT_MASK;
}

// Fixed-shape tree over scratch[0..WORKGROUP_SIZE); every invocation must call it (it has barriers).
fn treeSum(lid: u32) -> f32 {
  var stride = WORKGROUP_SIZE / 2u;
  loop {
    if (stride == 0u) { break; }
    if (lid < stride) {
      scratch[lid] = scratch[lid] + scratch[lid + stride];
    }
    workgroupBarrier();
    stride = stride / 2u;
  }
  return scratch[0];
}

// ---- stage 1 ----------------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

// Grid: (x, y) = chunk index split by grid2d, z = run.
@compute @workgroup_size(WORKGROUP_SIZE)
fn sumSquares(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x + wid.y * nwg.x;
  let run = wid.z;
  let start = chunk * CHUNK;
  let base = run * params.P;
  var acc = 0.0;
  if (chunk < params.chunks) {
    for (var k = 0u; k < VALUES_PER_THREAD; k = k + 1u) {
      let j = start + k * WORKGROUP_SIZE + lid;
      if (j < params.P) {
        let g = grads[base + j];
        acc = acc + g * g;
      }
    }
  }
  scratch[lid] = acc;
  workgroupBarrier();
  let total = treeSum(lid);
  if (lid == 0u && chunk < params.chunks) {
    partials[run * params.chunks + chunk] = total;
  }
}

// ---- stage 2 ----------------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> partialSums: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

// Grid: x = run.
@compute @workgroup_size(WORKGROUP_SIZE)
fn finalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let run = wid.x;
  let base = run * params.chunks;
  var acc = 0.0;
  for (var c = lid; c < params.chunks; c = c + WORKGROUP_SIZE) {
    acc = acc + partialSums[base + c];
  }
  scratch[lid] = acc;
  workgroupBarrier();
  let sumSq = treeSum(lid);
  if (lid == 0u) {
    var norm = sqrt(sumSq);
    var clipScale = 1.0;
    if (isNonFinite(sumSq)) {
      norm = sumSq;  // Inf stays Inf, NaN stays NaN, whatever the hardware sqrt does with them
      clipScale = 0.0;
    } else if (params.maxNorm > 0.0) {
      clipScale = min(1.0, params.maxNorm / (norm + 1e-6));
    }
    stats[run * 2u] = norm;
    stats[run * 2u + 1u] = clipScale;
  }
}
