// RMSNorm row kernels with subgroup reductions: the 'subgroup' variant of `forward` and `backwardInput`
// in rmsnorm.wgsl (same Params, bindings, layouts and results; see there). A file of its own because
// `enable subgroups;` fails to compile on a device without the 'subgroups' feature: the builder
// (src/kernels/rmsnorm.ts) only uses this file where the device has it.
//
// One workgroup of WORKGROUP_SIZE threads per row (r, n): row over workgroup_id.x/y (grid2d), run over
// workgroup_id.z. Each thread sums its strided channels c = lid, lid + 64, … in order; subgroupAdd
// combines each subgroup; every subgroup's first invocation writes that sum into its own slot of
// `slots` (every other thread writes 0), and after the one barrier every thread adds the 64 slots in
// slot order. Adding the zeros is exact, so the row sum is the subgroup sums added in a fixed order.
//
// Determinism: subgroupAdd's internal order is implementation-defined, but it is fixed for a given
// device, driver and subgroup size (the same compiled pipeline on the same invocations does the same
// operations), which is all "bit-identical run to run" needs; test/rmsnorm.test.ts checks repeat runs on
// SwiftShader (subgroup size 4). Nothing assumes a subgroup size or how invocations map to subgroups.

enable subgroups;

struct Params {
  R: u32,
  N: u32,
  C: u32,
  eps: f32,
  weightOffset: u32,
  weightRunStride: u32,
  dWeightOffset: u32,
  dWeightRunStride: u32,
}

const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;

var<workgroup> slots: array<f32, WORKGROUP_SIZE>;

// The workgroup's sum of `partial`; every thread of the workgroup must call it (uniform control flow),
// and at most once per entry point (the slots are not reused).
fn rowSum(partial: f32, lid: u32, sgId: u32) -> f32 {
  let subgroupSum = subgroupAdd(partial);
  slots[lid] = select(0.0, subgroupSum, sgId == 0u);
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < WORKGROUP_SIZE; i = i + 1u) {
    total = total + slots[i];
  }
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
           @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sgId: u32) {
  let n = wid.x + wid.y * nwg.x;
  let r = wid.z;
  // Uniform per workgroup, so the subgroup operation and the barrier stay in uniform control flow.
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
  let total = rowSum(sumSq, lid, sgId);
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
                 @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sgId: u32) {
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
  let total = rowSum(acc, lid, sgId);
  if (!inRange) { return; }

  let rs = bRstd[r * params.N + n];
  let coefficient = rs * rs * total / f32(C);
  for (var c = lid; c < C; c = c + WORKGROUP_SIZE) {
    let i = rowBase + c;
    bDx[i] = rs * (bDy[i] * bWeight[wBase + c] - bX[i] * coefficient);
  }
}
