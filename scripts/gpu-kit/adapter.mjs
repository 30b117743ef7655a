/**
 * The GPU kit's adapter probe (run by run.sh with the kit's Node): prints, as one JSON line, the adapter Dawn
 * picks under the Vulkan driver run.sh chose, so run.sh can say which one it got and refuse a software one.
 * Exits 2 with a one-line reason when there is none. Plain JavaScript: it is copied into the kit as is.
 */
import { create, globals } from './webgpu.mjs';

Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.error('no WebGPU adapter: Dawn found no usable Vulkan driver (VK_DRIVER_FILES / VK_ICD_FILENAMES, libvulkan.so.1)');
  process.exit(2);
}
const info = adapter.info ?? {};
const limits = {};
for (const key of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup']) {
  limits[key] = adapter.limits[key];
}
const software = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true || info.architecture === 'swiftshader'
  || /swiftshader|llvmpipe|lavapipe/i.test(`${info.description} ${info.device}`);
console.log(JSON.stringify({
  vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, software, limits,
}));
process.exit(0);
