// RMSNorm (LLaMA): y[r,n,c] = x[r,n,c] · rstd[r,n] · weight[r,c], rstd = 1 / sqrt(mean_c(x²) + eps).
//
// Layouts (run dimension R first, row-major):
//   x, y, dy, dx : [R, N, C]
//   weight, dWeight : [C] per run, inside a flat per-model parameter / gradient buffer [R, P]:
//                     element (r, c) of weight is at  weightOffset + r·weightRunStride + c, of dWeight at
//                     dWeightOffset + r·dWeightRunStride + c (offset 0, runStride C = dense [R, C]);
//                     run strides are >= C. backwardWeight writes exactly those R·C dWeight elements.
//   rstd : [R, N]   (written by the forward, read by the backward)
//
// Two variants of the row kernels compute the same function (same eps, same weight placement):
// - workgroup (`forward`, `backwardInput`): one workgroup of 128 threads per row (r, n): the row index is
//   spread over workgroup_id.x/y (grid2d), the run index is workgroup_id.z. Row sums are strided
//   per-thread partial sums in a fixed order followed by a fixed-shape tree in workgroup memory.
// - serial (`forwardSerial`, `backwardInputSerial`): one invocation per row, SERIAL_ROWS rows per
//   workgroup (rows over workgroup_id.x/y · SERIAL_ROWS + local index, run over workgroup_id.z); each
//   row sum is one loop over c = 0..C-1 in order. No barriers and no workgroup memory: on software
//   adapters (SwiftShader) barriers dominate, and for small C one thread per row is cheap on GPUs too.
// Both are deterministic; they differ only in the order of the row sums (a few ulp apart).
// `backwardWeight` gives each (r, c) one owner thread that loops over the N rows in order.

struct Params {
  R: u32,
  N: u32,
  C: u32,
  eps: f32,
  weightOffset: u32,      // forward, backwardInput: element offset of run 0's weight in the `weight` binding
  weightRunStride: u32,   // elements from run r's weight to run r+1's (>= C)
  dWeightOffset: u32,     // backwardWeight: element offset of run 0's dWeight in the `dWeight` binding
  dWeightRunStride: u32,  // elements from run r's dWeight to run r+1's (>= C)
}

const WORKGROUP_SIZE: u32 = 128u;   // power of two (tree reduction)
const WEIGHT_WORKGROUP: u32 = 64u;
const SERIAL_ROWS: u32 = 64u;       // rows (invocations) per workgroup of the serial variant

@group(0) @binding(0) var<uniform> params: Params;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// Fixed-shape tree reduction of `partial`; every thread of the workgroup must call it.
fn reduceSum(lid: u32) -> f32 {
  var stride = WORKGROUP_SIZE / 2u;
  loop {
    if (stride == 0u) { break; }
    if (lid < stride) {
      partial[lid] = partial[lid] + partial[lid + stride];
    }
    workgroupBarrier();
    stride = stride / 2u;
  }
  let total = partial[0];
  // Every thread has read partial[0] before anyone overwrites it in a later reduction.
  workgroupBarrier();
  return total;
}

// ---------------------------------------------------------------------------------------------
// forward: x, weight → y, rstd

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fWeight: array<f32>;
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;
@group(0) @binding(4) var<storage, read_write> fRstd: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  let r = wid.z;
  // Uniform condition (depends on the workgroup only), so the barriers below stay in uniform control flow.
  let inRange = n < params.N && r < params.R;
  let C = params.C;
  let rowBase = (r * params.N + n) * C;

  var sumSq = 0.0;
  if (inRange) {
    for (var c = lid; c < C; c = c + WORKGROUP_SIZE) {
      let v = fx[rowBase + c];
      sumSq = sumSq + v * v;
    }
  }
  partial[lid] = sumSq;
  workgroupBarrier();
  let total = reduceSum(lid);
  if (!inRange) { return; }

  let rs = 1.0 / sqrt(total / f32(C) + params.eps);
  if (lid == 0u) {
    fRstd[r * params.N + n] = rs;
  }
  let wBase = params.weightOffset + r * params.weightRunStride;
  for (var c = lid; c < C; c = c + WORKGROUP_SIZE) {
    fy[rowBase + c] = fx[rowBase + c] * rs * fWeight[wBase + c];
  }
}

// forwardSerial: same bindings and result as `forward`, one invocation per row.
@compute @workgroup_size(SERIAL_ROWS)
fn forwardSerial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * SERIAL_ROWS + lid;
  let r = wid.z;
  if (n >= params.N || r >= params.R) { return; }
  let C = params.C;
  let rowBase = (r * params.N + n) * C;
  var sumSq = 0.0;
  for (var c = 0u; c < C; c = c + 1u) {
    let v = fx[rowBase + c];
    sumSq = sumSq + v * v;
  }
  let rs = 1.0 / sqrt(sumSq / f32(C) + params.eps);
  fRstd[r * params.N + n] = rs;
  let wBase = params.weightOffset + r * params.weightRunStride;
  for (var c = 0u; c < C; c = c + 1u) {
    fy[rowBase + c] = fx[rowBase + c] * rs * fWeight[wBase + c];
  }
}

// ---------------------------------------------------------------------------------------------
// backwardInput: dy, x, weight, rstd → dx   (overwrites dx)
//   dx = rstd · (dy·w − x · rstd² · mean_c(dy·w·x))

@group(0) @binding(1) var<storage, read> bDy: array<f32>;
@group(0) @binding(2) var<storage, read> bX: array<f32>;
@group(0) @binding(3) var<storage, read> bWeight: array<f32>;
@group(0) @binding(4) var<storage, read> bRstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> bDx: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn backwardInput(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let n = wid.x + wid.y * nwg.x;
  let r = wid.z;
  let inRange = n < params.N && r < params.R;
  let C = params.C;
  let rowBase = (r * params.N + n) * C;
  let wBase = params.weightOffset + r * params.weightRunStride;

  var acc = 0.0;
  if (inRange) {
    for (var c = lid; c < C; c = c + WORKGROUP_SIZE) {
      acc = acc + bDy[rowBase + c] * bWeight[wBase + c] * bX[rowBase + c];
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  let total = reduceSum(lid);
  if (!inRange) { return; }

  let rs = bRstd[r * params.N + n];
  let coefficient = rs * rs * total / f32(C);
  for (var c = lid; c < C; c = c + WORKGROUP_SIZE) {
    let i = rowBase + c;
    bDx[i] = rs * (bDy[i] * bWeight[wBase + c] - bX[i] * coefficient);
  }
}

// backwardInputSerial: same bindings and result as `backwardInput`, one invocation per row.
@compute @workgroup_size(SERIAL_ROWS)
fn backwardInputSerial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * SERIAL_ROWS + lid;
  let r = wid.z;
  if (n >= params.N || r >= params.R) { return; }
  let C = params.C;
  let rowBase = (r * params.N + n) * C;
  let wBase = params.weightOffset + r * params.weightRunStride;
  var acc = 0.0;
  for (var c = 0u; c < C; c = c + 1u) {
    acc = acc + bDy[rowBase + c] * bWeight[wBase + c] * bX[rowBase + c];
  }
  let rs = bRstd[r * params.N + n];
  let coefficient = rs * rs * acc / f32(C);
  for (var c = 0u; c < C; c = c + 1u) {
    let i = rowBase + c;
    bDx[i] = rs * (bDy[i] * bWeight[wBase + c] - bX[i] * coefficient);
  }
}

// ---------------------------------------------------------------------------------------------
// backwardWeight: dy, x, rstd → dWeight   (overwrites dWeight)
//   dWeight[r,c] = Σ_n dy[r,n,c] · x[r,n,c] · rstd[r,n], summed by one thread in row order.

@group(0) @binding(1) var<storage, read> wDy: array<f32>;
@group(0) @binding(2) var<storage, read> wX: array<f32>;
@group(0) @binding(3) var<storage, read> wRstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> wDWeight: array<f32>;

@compute @workgroup_size(WEIGHT_WORKGROUP)
fn backwardWeight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let c = (wid.x + wid.y * nwg.x) * WEIGHT_WORKGROUP + lid;
  let r = wid.z;
  let C = params.C;
  if (c >= C || r >= params.R) { return; }
  var acc = 0.0;
  for (var n = 0u; n < params.N; n = n + 1u) {
    let i = (r * params.N + n) * C + c;
    acc = acc + wDy[i] * wX[i] * wRstd[r * params.N + n];
  }
  wDWeight[params.dWeightOffset + r * params.dWeightRunStride + c] = acc;
}
