import { useRef, useState } from 'react';

/** Figures that plot retrieval accuracy: meaningless for a task without retrieval answers. */
const RETRIEVAL_FIGURES = new Set(['accuracy.svg', 'time-to-learn.svg', 'learned-steps.svg', 'final-accuracy.svg', 'difference.svg', 'depth.svg']);

const DESCRIPTIONS: Record<string, string> = {
  'accuracy.svg': 'Retrieval accuracy vs step per arm: each seed thin, the mean bold, the 95% band shaded',
  'valloss.svg': 'Clean validation loss vs step per arm, mean over seeds with its 95% band',
  'time-to-learn.svg': 'Time to learn: share of seeds that learned retrieval by each step (Kaplan–Meier), per arm, with exact 95% bands and the log-rank p',
  'learned-steps.svg': 'Step at which each seed learned retrieval, per arm',
  'final-accuracy.svg': 'Final retrieval accuracy per arm with 95% confidence intervals',
  'final-valloss.svg': 'Final clean validation loss per arm with 95% confidence intervals',
  'difference.svg': 'MEAP minus NTP retrieval accuracy with 95% confidence intervals',
  'depth.svg': 'Final retrieval accuracy by depth bucket per arm',
  'attention-mass.svg': 'Attention mass from the answer position by segment, per arm, beside the paper\'s numbers',
};

/** Which of the report's figures the view shows. */
export function shownFigures(figures: Record<string, string>, retrieval: boolean, attention: boolean): [string, string][] {
  return Object.entries(figures).filter(([name]) => (retrieval || !RETRIEVAL_FIGURES.has(name)) && (attention || name !== 'attention-mass.svg'));
}

/**
 * The report's SVG figures (src/study/svg.ts, the same files `npm run reproduce` writes), shown as images:
 * an <img> never runs what it displays, so nothing in a figure can act on the page. Each uses the panel's
 * width; a click opens it enlarged in a dialog (Escape or the button closes it).
 */
export function ReportFigures({ figures, retrieval, attention }: { figures: Record<string, string>; retrieval: boolean; attention: boolean }) {
  const shown = shownFigures(figures, retrieval, attention);
  const dialog = useRef<HTMLDialogElement>(null);
  const [enlarged, setEnlarged] = useState<string | null>(null);
  if (shown.length === 0) return null;
  const source = (svg: string) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  const open = (name: string) => {
    setEnlarged(name);
    dialog.current?.showModal();
  };
  return (
    <div className="report-figures" data-testid="report-figures">
      {shown.map(([name, svg]) => (
        <figure key={name} className="report-figure" data-figure={name}>
          <button type="button" className="figure-open" onClick={() => open(name)} aria-label={`Enlarge: ${DESCRIPTIONS[name] ?? name}`}>
            <img src={source(svg)} alt={DESCRIPTIONS[name] ?? name} />
          </button>
        </figure>
      ))}
      <dialog ref={dialog} className="figure-dialog" data-testid="figure-dialog" onClose={() => setEnlarged(null)}>
        {enlarged !== null && figures[enlarged] !== undefined && (
          <img src={source(figures[enlarged])} alt={DESCRIPTIONS[enlarged] ?? enlarged} data-figure={enlarged} />
        )}
        <form method="dialog"><button type="submit" data-testid="figure-close">Close</button></form>
      </dialog>
    </div>
  );
}
