/**
 * `npm run selftest [-- --json]`: runs every kernel on the WebGPU adapter this machine has (SwiftShader
 * when there is no GPU) against the CPU reference. Prints a table, or with --json one JSON array of
 * { kernel, shape, maxAbsError, tolerance, pass }. Exits 1 if any check fails, 2 if there is no adapter.
 */
import { createGpuContext } from '../gpu/context';
import { nodeGpu } from '../gpu/node';
import { runSelfTest } from '../selftest/suite';
import type { KernelCheck } from '../selftest/harness';

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const unknown = argv.filter((a) => a !== '--json' && a !== '--');
  if (unknown.length > 0) {
    console.error(`selftest: unknown argument ${unknown[0]} (usage: npm run selftest [-- --json])`);
    return 2;
  }
  let ctx;
  try {
    ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
  } catch (error) {
    console.error(`selftest: ${(error as Error).message}`);
    return 2;
  }
  if (!json) {
    const a = ctx.adapter;
    console.log(`Adapter: ${a.description || a.device || a.architecture} (${a.vendor}/${a.architecture})` +
      `${a.isFallbackAdapter ? ', software fallback' : ''}`);
  }
  const results = await runSelfTest(ctx, json ? undefined : printRow);
  ctx.destroy();
  const failed = results.filter((r) => !r.pass).length;
  if (json) console.log(JSON.stringify(results.map(jsonSafe)));
  else console.log(`\n${results.length - failed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

let headerPrinted = false;
function printRow(r: KernelCheck): void {
  if (!headerPrinted) {
    console.log(`${'kernel'.padEnd(30)} ${'shape'.padEnd(34)} ${'max abs error'.padStart(13)} ${'tolerance'.padStart(10)}  pass`);
    headerPrinted = true;
  }
  console.log(`${r.kernel.padEnd(30)} ${r.shape.padEnd(34)} ${r.maxAbsError.toExponential(2).padStart(13)} ` +
    `${r.tolerance.toExponential(1).padStart(10)}  ${r.pass ? 'yes' : 'NO'}`);
}

/** JSON has no Infinity: a NaN/infinite error is reported as the largest finite double. */
function jsonSafe(r: KernelCheck): KernelCheck {
  return Number.isFinite(r.maxAbsError) ? r : { ...r, maxAbsError: Number.MAX_VALUE };
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`selftest: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
