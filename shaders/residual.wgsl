// Residual connections: out = a + b (forward), and accumulate: target += addend (backward, where a
// gradient arrives from two paths). Elementwise, so the run dimension R is folded into `count`.

struct Params {
  count: u32,   // elements across all R runs
}

const WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn linearIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i < params.count) {
    out[i] = a[i] + b[i];
  }
}

@group(0) @binding(1) var<storage, read_write> accumulator: array<f32>;
@group(0) @binding(2) var<storage, read> addend: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn accumulate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i < params.count) {
    accumulator[i] = accumulator[i] + addend[i];
  }
}
