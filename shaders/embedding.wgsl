// Token embedding with the MEAP masked input formed on the fly.
//
// Layouts (run dimension R first, row-major; N = B·T rows):
//   tokens : u32 [R, B, T+1]   clean block per sequence; inputs are positions 0..T-1
//   mask   : u32 [R, B, T]     0 = clean input; 1 = replaced by params.maskId ([MASK]); m >= 2 = replaced by
//                               token id m - 2 (the `replace: random | random-filler` controls, src/data/maskPolicy.ts)
//   table, dTable : f32 [V, C] per run, inside a flat per-model parameter / gradient buffer [R, P]:
//                   element (r, v, c) is at  offset + r·runStride + v·C + c  (tableOffset/tableRunStride
//                   for the forward's table, dTableOffset/dTableRunStride for the backward's dTable;
//                   offset 0 and runStride V·C is a dense [R, V, C] buffer). runStride >= V·C.
//   out, dOut     : f32 [R, N, C]   row n = b·T + t
//
// The input id of row (r, n = b·T + t) is  replacedId(mask[r,b,t], tokens[r, b, t]).
// An id >= V never reads the table: its output row is zeros and it contributes to no dTable row.
//
// `forward`: one thread per output element (r, n, c); the (n, c) index is spread over
//   workgroup_id.x/y (grid2d), the run is workgroup_id.z.
// `backward` computes dTable[r, v, c] = Σ_{n : id(r,n) == v} dOut[r, n, c], summed in increasing n order
//   (acc = 0.0, then acc += dOut row by row), OVERWRITING exactly the V·C elements of run r's dTable block
//   (nothing else of the flat gradient buffer is written). Two variants give bit-identical results (same
//   additions in the same order); neither uses float atomics.
//
// Variant 'workgroup' (entry point `backward`, good on GPUs): one workgroup per (r, v, 256-channel chunk);
//   thread `lid` owns channel chunk·256 + lid. The positions are scanned in tiles of 256: each tile is
//   compacted (fixed Hillis–Steele prefix sum in workgroup memory) into the increasing list of positions
//   whose id is v, then every owner thread adds those dOut rows in increasing position order. Tiles with no
//   match skip the prefix sum; that test counts matches with a workgroup u32 atomic, which is exact.
//   O(V·N) id compares per run plus O(N·C) adds, but many workgroup barriers (very slow on SwiftShader).
//
// Variant 'serial' (entry points `backwardIndex` then `backwardSum`, no barriers, for SwiftShader): a
//   counting sort of the positions by input id into a caller-owned u32 scratch buffer [R, V + N]:
//     scratch[r·(V+N) + v]      = end of v's list (exclusive; v's list starts at the end of v−1's, or 0)
//     scratch[r·(V+N) + V + k]  = k-th position of run r sorted by id, increasing positions within an id
//   `backwardIndex`: one invocation per run (workgroup_id.z) counts the ids, turns the counts into
//   exclusive offsets and scatters the positions in increasing order: O(N + V) per run. Positions with an
//   id >= V are left out. `backwardSum`: one invocation per (r, v, c) adds the dOut rows of v's list in
//   order and writes dTable[r, v, c]: O(N·C) adds per run in all. `backwardSum` must run after
//   `backwardIndex` on the same scratch (same compute pass, in order).

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

// The input id of a position whose mask entry is m and clean token is token.
fn replacedId(m: u32, token: u32) -> u32 {
  if (m == 0u) {
    return token;
  }
  if (m == 1u) {
    return params.maskId;
  }
  return m - 2u;
}

// Input id of row n = b·T + t of run r (may be >= V when the tokens are invalid; callers check).
fn inputId(r: u32, n: u32) -> u32 {
  let T = params.T;
  let b = n / T;
  let t = n - b * T;
  return replacedId(mask[r * params.B * T + n], tokens[(r * params.B + b) * (T + 1u) + t]);
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
// backward (variant 'workgroup'): tokens, mask, dOut → dTable (overwritten)

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

// ---------------------------------------------------------------------------------------------
// backward, variant 'serial', step 1: tokens, mask → scratch (ends [V] and sorted positions [N] per run)

@group(0) @binding(3) var<storage, read_write> sortIndex: array<u32>;

@compute @workgroup_size(1)
fn backwardIndex(@builtin(workgroup_id) wid: vec3<u32>) {
  let r = wid.z;
  if (r >= params.R) {
    return;
  }
  let B = params.B;
  let T = params.T;
  let V = params.V;
  let N = B * T;
  let ends = r * (V + N);    // counts, then start offsets, then end offsets of the V lists
  let list = ends + V;       // the sorted positions
  for (var v = 0u; v < V; v = v + 1u) {
    sortIndex[ends + v] = 0u;
  }
  // Count the positions of each id (no division: walk b and t).
  for (var b = 0u; b < B; b = b + 1u) {
    let maskRow = (r * B + b) * T;
    let tokenRow = (r * B + b) * (T + 1u);
    for (var t = 0u; t < T; t = t + 1u) {
      let id = replacedId(mask[maskRow + t], tokens[tokenRow + t]);
      if (id < V) {
        sortIndex[ends + id] = sortIndex[ends + id] + 1u;
      }
    }
  }
  // Counts → exclusive start offsets.
  var running = 0u;
  for (var v = 0u; v < V; v = v + 1u) {
    let count = sortIndex[ends + v];
    sortIndex[ends + v] = running;
    running = running + count;
  }
  // Scatter in increasing position order; each cursor ends at the end of its list.
  for (var b = 0u; b < B; b = b + 1u) {
    let maskRow = (r * B + b) * T;
    let tokenRow = (r * B + b) * (T + 1u);
    for (var t = 0u; t < T; t = t + 1u) {
      let id = replacedId(mask[maskRow + t], tokens[tokenRow + t]);
      if (id < V) {
        let k = sortIndex[ends + id];
        sortIndex[list + k] = b * T + t;
        sortIndex[ends + id] = k + 1u;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// backward, variant 'serial', step 2: scratch, dOut → dTable (overwritten)

const SUM_WORKGROUP: u32 = 256u;

@group(0) @binding(1) var<storage, read> sorted: array<u32>;      // the scratch written by backwardIndex
@group(0) @binding(2) var<storage, read> dOutRows: array<f32>;    // dOut [R, N, C]
@group(0) @binding(3) var<storage, read_write> dTableRows: array<f32>;

@compute @workgroup_size(SUM_WORKGROUP)
fn backwardSum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let r = wid.z;
  let C = params.C;
  let V = params.V;
  let N = params.B * params.T;
  let j = (wid.x + wid.y * nwg.x) * SUM_WORKGROUP + lid;   // v·C + c
  if (r >= params.R || j >= V * C) {
    return;
  }
  let v = j / C;
  let c = j - v * C;
  let ends = r * (V + N);
  let list = ends + V;
  var begin = 0u;
  if (v > 0u) {
    begin = sorted[ends + v - 1u];
  }
  let end = sorted[ends + v];
  let rows = r * N;
  var acc = 0.0;
  for (var k = begin; k < end; k = k + 1u) {
    acc = acc + dOutRows[(rows + sorted[list + k]) * C + c];
  }
  dTableRows[params.dTableOffset + r * params.dTableRunStride + j] = acc;
}
