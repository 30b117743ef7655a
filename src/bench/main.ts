/**
 * The bench page (bench.html): runs the benchmark in this page when asked. `npm run bench` drives it
 * headless through `window.meapBench.run(options)`; opened by hand, the button runs it and shows the table.
 */
import { runBench, type BenchOptions } from './run';
import { formatTable, type BenchReport } from './report';

declare global {
  interface Window {
    meapBench: { run(options: BenchOptions): Promise<BenchReport> };
  }
}

const output = document.getElementById('output') as HTMLPreElement;
const button = document.getElementById('run') as HTMLButtonElement;
const quick = document.getElementById('quick') as HTMLInputElement;

function log(line: string): void {
  console.log(`[bench] ${line}`);
  output.textContent += `${line}\n`;
}

async function run(options: BenchOptions): Promise<BenchReport> {
  button.disabled = true;
  output.textContent = '';
  try {
    const report = await runBench(options, log);
    output.textContent += `\n${formatTable(report)}\n`;
    return report;
  } finally {
    button.disabled = false;
  }
}

window.meapBench = { run };
button.addEventListener('click', () => {
  run({ quick: quick.checked }).catch((error: unknown) => log(`failed: ${(error as Error).stack ?? String(error)}`));
});
document.body.dataset.ready = 'true';
