#!/usr/bin/env bash
# Installs the system packages the tests need when they are missing (Debian): Chromium, which ships
# SwiftShader (WebGPU without a GPU) for Playwright and for Node's Dawn, and libvulkan1, the Vulkan loader
# Dawn needs in Node; python3-torch (Debian's /usr/bin/python3 with torch), for the PyTorch twin's parity tests;
# xz-utils and dpkg for the GPU kit (npm run gpu-kit) and its test.
# Runs before `npm test`; as root it installs, otherwise it says what to run.
set -euo pipefail
missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] \
  || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] || missing+=(libvulkan1)
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
# The GPU kit's build and its test compress with xz and unpack the Vulkan loader's .deb with dpkg-deb.
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need ${missing[*]} (WebGPU on SwiftShader; torch for the PyTorch twin). Run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} for the tests (WebGPU on SwiftShader; torch for the PyTorch twin)…"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
