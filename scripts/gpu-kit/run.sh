#!/usr/bin/env bash
# The GPU kit's one command (built by `npm run gpu-kit`; copied into the kit as run.sh). On a server with a GPU
# and nothing installed, in one go: the kernel self-test, the benchmark (bench:node, and the PyTorch twin's
# tokens/s beside it where python3 has torch), the twin's device check where torch sees CUDA, then the named
# studies, resumable unit by unit.
# Needs only bash, coreutils, xz and, when the server has no libvulkan.so.1, dpkg-deb: everything else
# (Node, Dawn, the Vulkan loader, the bundled CLIs) is in the kit. Nothing is installed outside the kit.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: run.sh --out DIR [--studies NAME,NAME|none] [--budget SECONDS] [--quick] [--allow-software]
  --out DIR          results: run.log, adapter.json, selftest.json, bench.json, twin-device-check.json,
                     studies/NAME/… , summary.json
  --studies LIST     named studies to run after the benchmark (default none); rerunning resumes them
  --budget SECONDS   wall-clock budget of the whole run: studies stop cleanly between units when it is spent
  --quick            the CI-sized benchmark and the --quick version of each study (a pipeline check)
  --allow-software   accept a software adapter (SwiftShader); without it run.sh refuses to run on one
Exit status: 0 when the self-test passed (studies stopped by the budget still count as fine), 1 when it
failed, 2 for bad arguments or no usable GPU.
EOF
}

die() { printf 'run.sh: %s\n' "$1" >&2; exit "${2:-2}"; }

OUT='' STUDIES='none' BUDGET='' QUICK='' ALLOW_SOFTWARE=''
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] && [ -n "$2" ] || die '--out needs a folder'; OUT="$2"; shift 2 ;;
    --studies) [ $# -ge 2 ] && [ -n "$2" ] || die '--studies needs NAME,NAME or none'; STUDIES="$2"; shift 2 ;;
    --budget) [ $# -ge 2 ] || die '--budget needs a number of seconds'
      [[ "$2" =~ ^[0-9]+$ ]] || die "--budget must be a whole number of seconds, got \"$2\""; BUDGET="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --allow-software) ALLOW_SOFTWARE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (run.sh --help)" ;;
  esac
done
[ -n "$OUT" ] || die '--out DIR is required (run.sh --help)'
[[ "$STUDIES" =~ ^(none|[A-Za-z0-9-]+(,[A-Za-z0-9-]+)*)$ ]] || die "--studies must be NAME,NAME or none, got \"$STUDIES\""

case "${BASH_SOURCE[0]}" in */*) KIT="${BASH_SOURCE[0]%/*}" ;; *) KIT=. ;; esac
KIT="$(cd "$KIT" && pwd)"
mkdir -p "$OUT/studies" || die "cannot create $OUT"
OUT="$(cd "$OUT" && pwd)"
# Everything printed from here on also goes to run.log; run.sh's own errors also to the original stderr (fd 3).
exec 3>&2
exec > >(tee -a "$OUT/run.log") 2>&1
TEE_PID=$!
die() { printf 'run.sh: %s\n' "$1"; printf 'run.sh: %s\n' "$1" >&3; exit "${2:-2}"; }
# Closing the pipe and waiting for tee at exit keeps run.log complete when run.sh returns.
trap 'exec >&- 2>&-; wait "$TEE_PID" 2>/dev/null || true' EXIT
stamp() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T' -1; }
say() { printf '[%s] %s\n' "$(stamp)" "$*"; }
say "GPU kit in $KIT → results in $OUT (studies: $STUDIES${BUDGET:+, budget $BUDGET s}${QUICK:+, quick})"

# ---- unpack what is missing: into the kit when it is writable, else beside the results ----
RT="$KIT/runtime"
{ mkdir -p "$RT" && [ -w "$RT" ]; } 2>/dev/null || RT="$OUT/.kit-runtime"
mkdir -p "$RT"
unxz_to() { # archive target
  # Unpacked earlier from this very archive (a rebuilt kit's newer archive is unpacked again).
  [ -s "$2" ] && [ "$2" -nt "$1" ] && return 0
  command -v xz >/dev/null || die 'xz is needed to unpack the kit (apt-get install xz-utils)'
  xz -dc "$1" > "$2.tmp" && mv "$2.tmp" "$2"
}
unxz_to "$KIT/bin/node.xz" "$RT/node" && chmod +x "$RT/node"
unxz_to "$KIT/lib/dawn.node.xz" "$RT/dawn.node"
NODE="$RT/node"
"$NODE" --version >/dev/null || die "the kit's Node does not run on this machine ($("$NODE" --version 2>&1 | head -n 1))"
export MEAP_DAWN_NODE="$RT/dawn.node" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

# ---- the Vulkan loader: the system's, else the kit's .deb unpacked into the kit (never into /) ----
LDCONFIG="$(command -v ldconfig || { [ -x /sbin/ldconfig ] && echo /sbin/ldconfig; } || true)"
# MEAP_KIT_OWN_LOADER=1 takes the kit's loader even where the system has one (the test takes a bare server's path).
# (grep reads the whole list: with -q it would stop early, and pipefail would count ldconfig's SIGPIPE as no match.)
if [ -z "${MEAP_KIT_OWN_LOADER:-}" ] && [ -n "$LDCONFIG" ] && "$LDCONFIG" -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; then
  say 'Vulkan loader: the system'"'"'s'
else
  if [ ! -e "$RT/vulkan/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ]; then
    command -v dpkg-deb >/dev/null || die 'this machine has no libvulkan.so.1 and no dpkg-deb to unpack the kit'"'"'s copy'
    dpkg-deb -x "$KIT"/deb/libvulkan1_*.deb "$RT/vulkan" || die 'could not unpack the kit'"'"'s libvulkan1 .deb'
  fi
  export LD_LIBRARY_PATH="$RT/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "Vulkan loader: the kit's ($RT/vulkan)"
fi

# ---- the driver: one named by the environment, else an NVIDIA ICD; SwiftShader only with --allow-software ----
SWIFTSHADER_ICD=/usr/lib/chromium/vk_swiftshader_icd.json
if [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  say "Vulkan driver: from the environment (${VK_DRIVER_FILES:-$VK_ICD_FILENAMES})"
else
  ICD=''
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json /usr/local/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then ICD="$f"; break; fi
  done
  if [ -n "$ICD" ]; then
    export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD"
    say "Vulkan driver: $ICD"
  elif [ -n "$ALLOW_SOFTWARE" ] && [ -f "$SWIFTSHADER_ICD" ]; then
    export VK_ICD_FILENAMES="$SWIFTSHADER_ICD"
    say "Vulkan driver: SwiftShader ($SWIFTSHADER_ICD), allowed by --allow-software"
  else
    die 'found no NVIDIA Vulkan driver (nvidia_icd.json); name one with VK_DRIVER_FILES=/path/nvidia_icd.json, or pass --allow-software to accept SwiftShader (slow)'
  fi
fi

# An NVIDIA ICD names libGLX_nvidia.so.0 by file name: container images keep it here, outside the loader's paths.
if [ -d /usr/local/nvidia/lib64 ]; then export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64"; fi

# ---- which adapter did Dawn pick? ----
if ! "$NODE" "$KIT/lib/adapter.mjs" > "$OUT/adapter.json"; then
  die 'Dawn found no adapter with this driver (see above)'
fi
ADAPTER="$("$NODE" -e 'const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${a.description || a.device} (${a.vendor}/${a.architecture})${a.software ? ", software" : ""}`)' "$OUT/adapter.json")"
say "adapter: $ADAPTER"
if "$NODE" -e 'process.exit(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).software ? 0 : 1)' "$OUT/adapter.json"; then
  [ -n "$ALLOW_SOFTWARE" ] || die "Dawn picked a software adapter ($ADAPTER), not a GPU; pass --allow-software to run on it anyway"
fi

# ---- 1. the kernel self-test (decides the exit status) ----
say 'self-test: every kernel against the float64 reference'
SELFTEST_RC=0
"$NODE" "$KIT/lib/selftest.mjs" --json > "$OUT/selftest.json" || SELFTEST_RC=$?
SELFTEST_LINE="$("$NODE" -e 'try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const bad = r.filter((x) => !x.pass); console.log(`${r.length - bad.length} passed, ${bad.length} failed${bad.length ? ": " + bad.map((x) => x.kernel + " " + x.shape).join("; ") : ""}`); } catch { console.log("no result (see above)"); }' "$OUT/selftest.json")"
say "self-test: $SELFTEST_LINE (exit $SELFTEST_RC)"

# ---- 2. the benchmark, with the twin's tokens/s where python3 has torch ----
TWIN=() PYTHON=''
# The first python3 that has torch: PATH's (a venv, pyenv), else the system's (Debian's python3-torch).
for p in "$(command -v python3 || true)" /usr/bin/python3; do
  if [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import torch' >/dev/null 2>&1; then PYTHON="$p"; break; fi
done
if [ -n "$PYTHON" ]; then
  TWIN=(--twin --python "$PYTHON" --twin-path "$KIT/python")
  say "benchmark: bench:node, with the PyTorch twin ($PYTHON has torch)"
else
  say 'benchmark: bench:node (no python3 with torch here: no twin)'
fi
BENCH_RC=0
"$NODE" "$KIT/lib/bench-node.mjs" ${QUICK:+--quick} --out "$OUT/bench.json" "${TWIN[@]}" || BENCH_RC=$?
say "benchmark: exit $BENCH_RC → $OUT/bench.json"

# ---- 2b. the twin on the GPU: does it train there as on the CPU? (where torch sees CUDA) ----
# Per-run and batched, float64 / float32 / bf16 on the device against float64 on the CPU (meap_torch.device_check).
# MEAP_TWIN_CHECK_DEVICE names the device instead (the kit's test takes cpu).
TWIN_CHECK='no-torch'
if [ -n "$PYTHON" ]; then
  CHECK_DEVICE="${MEAP_TWIN_CHECK_DEVICE:-}"
  if [ -z "$CHECK_DEVICE" ] && "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    CHECK_DEVICE=cuda
  fi
  if [ -n "$CHECK_DEVICE" ]; then
    CONFIGS=("$KIT/python/configs/tiny.json")
    [ -n "$QUICK" ] || CONFIGS+=("$KIT/python/configs/quick.json" "$KIT/python/configs/needle-s.json")
    say "twin device check: the twin on $CHECK_DEVICE against float64 on the CPU (${#CONFIGS[@]} config(s))"
    rc=0
    PYTHONPATH="$KIT/python" "$PYTHON" -m meap_torch.device_check "${CONFIGS[@]}" --device "$CHECK_DEVICE" \
      --out "$OUT/twin-device-check.json" || rc=$?
    case "$rc" in 0) TWIN_CHECK=passed ;; 1) TWIN_CHECK=FAILED ;; *) TWIN_CHECK="error($rc)" ;; esac
  else
    TWIN_CHECK='no-cuda'
  fi
  say "twin device check: $TWIN_CHECK${CHECK_DEVICE:+ → $OUT/twin-device-check.json}"
fi

# ---- 3. the named studies, each resumable; the budget stops them between units ----
STUDY_STATUS=()
if [ "$STUDIES" != none ]; then
  IFS=, read -r -a NAMES <<< "$STUDIES"
  for name in "${NAMES[@]}"; do
    BUDGET_ARGS=()
    if [ -n "$BUDGET" ]; then
      left=$((BUDGET - SECONDS))
      if [ "$left" -le 0 ]; then
        say "study $name: not started, the $BUDGET s budget is spent (rerun to resume)"
        STUDY_STATUS+=("$name:not-started"); continue
      fi
      BUDGET_ARGS=(--budget "$left")
    fi
    say "study $name${QUICK:+ (quick)}${BUDGET:+, $((BUDGET - SECONDS)) s of the budget left}"
    rc=0
    "$NODE" "$KIT/lib/reproduce.mjs" --study "$name" ${QUICK:+--quick} --out "$OUT/studies" "${BUDGET_ARGS[@]}" || rc=$?
    case "$rc" in
      0) STUDY_STATUS+=("$name:done") ;;
      3) STUDY_STATUS+=("$name:stopped-by-budget") ;;
      *) STUDY_STATUS+=("$name:failed($rc)") ;;
    esac
    say "study $name: ${STUDY_STATUS[-1]#*:}"
  done
fi

# ---- summary ----
"$NODE" -e '
  const [out, selftestRc, benchRc, twinCheck, seconds, ...studies] = process.argv.slice(1);
  const read = (f) => { try { return JSON.parse(require("fs").readFileSync(`${out}/${f}`, "utf8")); } catch { return null; } };
  const selftest = read("selftest.json");
  const summary = {
    adapter: read("adapter.json"),
    selftest: { pass: selftestRc === "0", checks: selftest ? selftest.length : 0, failed: selftest ? selftest.filter((x) => !x.pass).length : null },
    bench: { exitCode: Number(benchRc), file: "bench.json" },
    twinDeviceCheck: twinCheck,
    studies: studies.map((s) => ({ name: s.slice(0, s.indexOf(":")), status: s.slice(s.indexOf(":") + 1) })),
    wallSeconds: Number(seconds),
  };
  require("fs").writeFileSync(`${out}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
' "$OUT" "$SELFTEST_RC" "$BENCH_RC" "$TWIN_CHECK" "$SECONDS" "${STUDY_STATUS[@]}"
say "done in $SECONDS s: self-test $([ "$SELFTEST_RC" = 0 ] && echo passed || echo FAILED), twin device check $TWIN_CHECK; summary in $OUT/summary.json"
[ "$SELFTEST_RC" = 0 ] || exit 1
exit 0
