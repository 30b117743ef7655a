import { useState } from 'react';
import { useRuns, type StudyInfo } from '../../store/runs';
import { useConfig } from '../../store/config';
import type { StudyConfig } from '../../config/presets';
import { AccuracyChart, DepthChart, LearnedChart } from './RetrievalCharts';
import { DiffChart, TrainLossChart, ValLossChart } from './LossCharts';
import { SpeedPanel } from './SpeedPanel';
import { OptimCharts } from './OptimCharts';
import { QaChart } from './QaCharts';
import { useGroups } from './useGroups';
import { curvesCsv, curvesJson } from '../../store/curves';
import { saveFile } from '../report/download';

/** Downloads every curve of the study on screen, as the runs store holds it (store/curves.ts). */
function CurveExport() {
  const empty = useRuns((s) => s.train.steps.length === 0 && s.evals.steps.length === 0);
  const save = (format: 'csv' | 'json') => {
    const runs = useRuns.getState();
    if (format === 'csv') saveFile(curvesCsv(runs), 'curves.csv', 'text/csv');
    else saveFile(curvesJson(runs), 'curves.json', 'application/json');
  };
  return (
    <span className="curve-export">
      <span className="muted">Curves:</span>
      <button type="button" className="secondary small" data-testid="export-curves-csv" disabled={empty} onClick={() => save('csv')}>CSV</button>
      <button type="button" className="secondary small" data-testid="export-curves-json" disabled={empty} onClick={() => save('json')}>JSON</button>
    </span>
  );
}

interface TaskFacts { retrieval: boolean; bucketLabel: string }

/**
 * Whether the study's task scores retrieval, and what its evaluation buckets are: as the Worker described the
 * built study's task; before a build, every task but plain text scores retrieval (its axis named generically).
 */
function taskFacts(study: StudyInfo | null, edited: StudyConfig): TaskFacts {
  if (study) return { retrieval: study.task.bucketLabel !== '', bucketLabel: study.task.bucketLabel };
  return { retrieval: edited.task !== 'text', bucketLabel: '' };
}

/** Every live view of the comparison, in the order a reader asks the questions. */
export function ChartsPanel() {
  const groups = useGroups();
  const study = useRuns((s) => s.study);
  const edited = useConfig((s) => s.config);
  const source = study?.config ?? edited;
  const facts = taskFacts(study, edited);
  const [threshold, setThreshold] = useState(0.5);
  const seeds = groups[0]?.runs.length ?? 1;
  return (
    <section className="panel charts-panel" aria-labelledby="charts-title" data-testid="charts-panel">
      <div className="panel-head">
        <h2 id="charts-title">Live comparison{study?.stage === 'finetune' && <span className="muted" data-testid="charts-stage"> · fine-tuning</span>}</h2>
        <ul className="legend" aria-label={study?.stage === 'finetune' ? 'Fine-tuning variants' : 'Arms'}>
          {groups.map((g) => (
            <li key={g.arm} data-testid="legend-arm"><span className="swatch" style={{ background: g.color }} />{g.label}</li>
          ))}
          {seeds > 1 && <li className="legend-note">bold: mean of {seeds} seeds · thin: each seed · band: min–max</li>}
        </ul>
        <CurveExport />
      </div>
      <div className="chart-grid">
        <TrainLossChart groups={groups} />
        <ValLossChart groups={groups} />
        <DiffChart groups={groups} retrieval={facts.retrieval} />
        {facts.retrieval ? (
          <>
            <AccuracyChart groups={groups} config={source} />
            {source.task === 'qa' && <QaChart groups={groups} />}
            <DepthChart groups={groups} task={source.task} bucketLabel={facts.bucketLabel} />
            <LearnedChart groups={groups} threshold={threshold} onThreshold={setThreshold} />
          </>
        ) : (
          <div className="chart-card chart-note" data-testid="no-retrieval">
            <p className="hint">The {source.task} task is plain language modelling: it has no retrieval answers to score,
              so compare the validation loss and its MEAP − NTP difference.</p>
          </div>
        )}
        <OptimCharts groups={groups} />
        <SpeedPanel />
      </div>
    </section>
  );
}
