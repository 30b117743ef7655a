// Token embedding with the MEAP masked input formed on the fly.
//
// Layouts (run dimension R first, row-major; N = B·T rows):
//   tokens : u32 [R, B, T+1]   clean block per sequence; inputs are positions 0..T-1
//   mask   : u32 [R, B, T]     nonzero = this input position is replaced by params.maskId
//   table, dTable : f32 [V, C] per run, inside a flat per-model parameter / gradient buffer [R, P]:
//                   element (r, v, c) is at  offset + r·runStride + v·C + c  (tableOffset/tableRunStride
//                   for the forward's table, dTableOffset/dTableRunStride for the backward's dTable;
//                   offset 0 and runStride V·C is a dense [R, V, C] buffer). runStride >= V·C.
//   out, dOut     : f32 [R, N, C]   row n = b·T + t
//
// The input id of row (r, n = b·T + t) is  mask[r,b,t] != 0 ? maskId : tokens[r, b, t].
// An id >= V never reads the table: its output row is zeros and it contributes to no dTable row.
//
// `forward`: one thread per output element (r, n, c); the (n, c) index is spread over
//   workgroup_id.x/y (grid2d), the run is workgroup_id.z.
// `backward`: dTable[r, v, c] = Σ_{n : id(r,n) == v} dOut[r, n, c], OVERWRITING exactly the V·C elements
//   of run r's dTable block (nothing else of the flat gradient buffer is written). One workgroup
//   per (r, v, 256-channel chunk); thread `lid` owns channel chunk·256 + lid. The positions are scanned
//   in tiles of 256: each tile is compacted (fixed Hillis–Steele prefix sum in workgroup memory) into
//   the increasing list of positions whose id is v, then every owner thread adds those dOut rows in
//   increasing position order. Tiles with no match (the common case) skip the prefix sum; that test
//   counts matches with a workgroup u32 atomic, which is exact. No float atomics: the result is
//   bit-identical run to run, and the work is O(V·N) cheap id compares per run plus O(N·C) adds
//   (not O(V·N·C)).

struct Params {
  R: u32,
  B: u32,
  T: u32,
  V: u32,
  C: u32,
  maskId: u32,
  tableOffset: u32,       // forward: element offset of run 0's table inside the `table` binding
  tableRunStride: u32,    // forward: elements from run r's table to run r+1's (>= V·C)
  dTableOffset: u32,      // backward: element offset of run 0's dTable inside the `dTable` binding
  dTableRunStride: u32,   // backward: elements from run r's dTable to run r+1's (>= V·C)
  pad0: u32,              // 12 words = 48 bytes (16-byte multiple)
  pad1: u32,
}

const WORKGROUP_SIZE: u32 = 256u;   // power of two (prefix-sum tree); also the channel chunk of `backward`

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;

// Input id of row n = b·T + t of run r (may be >= V when the tokens are invalid; callers check).
fn inputId(r: u32, n: u32) -> u32 {
  let T = params.T;
  let b = n / T;
  let t = n - b * T;
  if (mask[r * params.B * T + n] != 0u) {
    return params.maskId;
  }
  return tokens[(r * params.B + b) * (T + 1u) + t];
}

// ---------------------------------------------------------------------------------------------
// forward: tokens, mask, table → out

@group(0) @binding(3) var<storage, read> table: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let r = wid.z;
  let C = params.C;
  let N = params.B * params.T;
  let j = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (r >= params.R || j >= N * C) {
    return;
  }
  let n = j / C;
  let c = j - n * C;
  let id = inputId(r, n);
  var value = 0.0;
  if (id < params.V) {
    value = table[params.tableOffset + r * params.tableRunStride + id * C + c];
  }
  out[(r * N + n) * C + c] = value;
}

// ---------------------------------------------------------------------------------------------
// backward: tokens, mask, dOut → dTable (overwritten)

@group(0) @binding(3) var<storage, read> dOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> dTable: array<f32>;

var<workgroup> prefix: array<u32, WORKGROUP_SIZE>;     // inclusive prefix sum of "position matches v"
var<workgroup> matches: array<u32, WORKGROUP_SIZE>;    // positions of the tile with id v, increasing
var<workgroup> tileHits: atomic<u32>;                  // how many positions of the tile match (an integer count)
var<workgroup> tileHitsCopy: u32;                      // the same, read back with workgroupUniformLoad

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let r = wid.z;
  let C = params.C;
  let V = params.V;
  let N = params.B * params.T;
  let chunks = (C + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
  let w = wid.x + wid.y * nwg.x;
  // Uniform condition (depends on the workgroup only), so the barriers below stay in uniform control flow.
  if (r >= params.R || w >= V * chunks) {
    return;
  }
  let v = w / chunks;
  let c = (w - v * chunks) * WORKGROUP_SIZE + lid;
  let ownsChannel = c < C;

  if (lid == 0u) {
    atomicStore(&tileHits, 0u);
  }
  var acc = 0.0;
  for (var base = 0u; base < N; base = base + WORKGROUP_SIZE) {
    let pos = base + lid;
    var hit = 0u;
    if (pos < N) {
      if (inputId(r, pos) == v) {
        hit = 1u;
      }
    }
    prefix[lid] = hit;
    if (hit == 1u) {
      atomicAdd(&tileHits, 1u);   // integer count: the order of the adds does not matter
    }
    workgroupBarrier();
    if (lid == 0u) {
      tileHitsCopy = atomicLoad(&tileHits);
      atomicStore(&tileHits, 0u);   // for the next tile (its adds come after the barriers below)
    }
    // Most tiles hold no position with id v (about N/V hits in all): skip the prefix sum for those.
    if (workgroupUniformLoad(&tileHitsCopy) > 0u) {
      for (var offset = 1u; offset < WORKGROUP_SIZE; offset = offset * 2u) {
        var add = 0u;
        if (lid >= offset) {
          add = prefix[lid - offset];
        }
        workgroupBarrier();
        prefix[lid] = prefix[lid] + add;
        workgroupBarrier();
      }
      if (hit == 1u) {
        matches[prefix[lid] - 1u] = pos;
      }
      workgroupBarrier();
      let count = prefix[WORKGROUP_SIZE - 1u];
      if (ownsChannel) {
        for (var k = 0u; k < count; k = k + 1u) {
          acc = acc + dOut[(r * N + matches[k]) * C + c];
        }
      }
    }
    // Everyone has read this tile's prefix/matches/tileHitsCopy before the next tile overwrites them.
    workgroupBarrier();
  }
  if (ownsChannel) {
    dTable[params.dTableOffset + r * params.dTableRunStride + v * C + c] = acc;
  }
}
