/**
 * What a study's unit files and study.json hold per unit and run. Plain types with no engine behind them,
 * so the page (src/study/pageRecord.ts) builds records without importing the GPU study that runner.ts trains.
 */
import type { FinetuneVariant, StudyConfig } from '../config/presets';
import type { HistoryPoint } from '../engine/types';
import type { AttentionRecord } from '../engine/modelAnalysis';

export const UNIT_FORMAT = 'meap-study-unit/1';

export interface RunRecord {
  arm: number;
  maskRatio: number;
  objective: 'ntp' | 'meap';
  /** Global seed index within the study: unit · seedsPerUnit + unitSeed. */
  seed: number;
  unit: number;
  unitSeed: number;
  history: HistoryPoint[];
  /** Attention analyses of the trained model; null when they were not run (the page before "Analyse attention"). */
  attention: AttentionRecord | null;
  /** Fine-tuning studies: the run's variant and pretraining arm (then `arm` numbers (baseArm, variant) pairs). */
  finetune?: FinetuneVariant;
  baseArm?: number;
}

export interface UnitRecord {
  format: typeof UNIT_FORMAT;
  study: string;
  quick: boolean;
  unit: number;
  /** What the unit's result depends on; a saved unit is reused only when its key matches. */
  key: string;
  config: StudyConfig;
  adapter: string;
  softwareAdapter: boolean;
  startedAt: string;
  finishedAt: string;
  wallMs: number;
  runs: RunRecord[];
  /** Fine-tuning studies: the pretraining runs (stage 1) the fine-tuned `runs` started from. */
  pretrain?: RunRecord[];
}
