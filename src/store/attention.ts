/**
 * What the attention views and "Try the models" show: the latest attention snapshot of each compared run
 * on the selected evaluation example, the segment mass from the answer position over training, the
 * selection (seed, arms, example, layer, head, clean/masked input) and the latest generation.
 *
 * The store asks the Worker for snapshots itself ('probe'): when the selection changes, after every
 * evaluation during training, and when training stops at a step it has not probed yet. The answers of one
 * round of probes (one per compared run) are applied together, in one update, so the views redraw once
 * per evaluation rather than once per run.
 */
import { create } from 'zustand';
import type { AttentionSnapshot, ExampleInfo, FromTrainer, GenerationResult, RunInfo, TaskView } from '../session/protocol';
import type { StudyConfig } from '../config/presets';
import { segmentCountOf, segmentMassByLayer, type HeadSelection } from '../analysis/attentionStack';
import { sendToTrainer, subscribeToTrainer } from './trainer';

export type InputKind = 'clean' | 'masked';

/** Segment mass from the answer position at one step, clean input: byLayer[layer][segment] (mean over heads). */
export interface MassPoint {
  step: number;
  byLayer: number[][];
}

export type { ExampleInfo };

export type GenerationStatus = 'idle' | 'pending' | 'done' | 'failed';

interface AttentionState {
  runs: RunInfo[];
  config: StudyConfig | null;
  /** The study's task as the Worker describes it in 'built' (token names, segments, bucket label; null before a build). */
  task: TaskView | null;
  /** The first evaluation examples (the Worker's own, the ones 'probe' shows). */
  examples: ExampleInfo[];
  /** Seed shared by the compared runs (every arm of a seed starts from the same weights). */
  seed: number;
  /** Left and right arm of the comparison: the NTP arm and a MEAP arm by default. */
  baseArm: number;
  meapArm: number;
  example: number;
  layer: number;
  head: HeadSelection;
  input: InputKind;
  /** Latest snapshot of each compared run for the selected example, by run index. */
  snapshots: Record<number, AttentionSnapshot>;
  /** Segment mass over training, by `${run}:${example}`, ascending steps. */
  massSeries: Record<string, MassPoint[]>;
  generation: { requestId: number; status: GenerationStatus; prompt: number[]; result: GenerationResult | null; error: string };

  setSeed(seed: number): void;
  setMeapArm(arm: number): void;
  setExample(example: number): void;
  setLayer(layer: number): void;
  setHead(head: HeadSelection): void;
  setInput(input: InputKind): void;
  /** Asks every run for its greedy continuation of `prompt` (token ids). */
  generate(prompt: number[], maxTokens: number): void;
}

/** A probe without an answer for this long no longer blocks a new one for the same run and example. */
const PROBE_TIMEOUT_MS = 15_000;
/** An answer waits at most this long for the other compared runs' answers before it is applied alone. */
export const COALESCE_MS = 250;

/** Run indices being compared: the selected seed of the base arm and of the MEAP arm (one run if they coincide). */
export function comparedRuns(runs: readonly RunInfo[], baseArm: number, meapArm: number, seed: number): number[] {
  const find = (arm: number) => runs.findIndex((r) => r.arm === arm && r.seed === seed);
  const out: number[] = [];
  for (const r of [find(baseArm), find(meapArm)]) if (r >= 0 && !out.includes(r)) out.push(r);
  return out;
}

/** Default comparison: the first NTP arm (else the first arm) against the first other MEAP arm (else the next arm). */
export function defaultArms(runs: readonly RunInfo[]): { baseArm: number; meapArm: number } {
  const arms = [...new Set(runs.map((r) => r.arm))].sort((a, b) => a - b);
  if (arms.length === 0) return { baseArm: 0, meapArm: 0 };
  // A fine-tuning stage: SFT of the first pretraining arm against the next variant of the same base.
  const sft = runs.find((r) => r.finetune === 'sft');
  if (sft) {
    const variant = runs.find((r) => r.finetune !== undefined && r.finetune !== 'sft' && r.baseArm === sft.baseArm);
    return { baseArm: sft.arm, meapArm: variant ? variant.arm : arms.find((a) => a !== sft.arm) ?? sft.arm };
  }
  const ntp = runs.find((r) => r.objective === 'ntp');
  const baseArm = ntp ? ntp.arm : arms[0];
  const meap = runs.find((r) => r.objective === 'meap' && r.arm !== baseArm);
  const other = arms.find((a) => a !== baseArm);
  return { baseArm, meapArm: meap ? meap.arm : other ?? baseArm };
}

export function seriesKey(run: number, example: number): string {
  return `${run}:${example}`;
}

/** Inserts a point in a step-ordered series; a step at or before the last one (a reset) drops the later points. */
export function withPoint(series: readonly MassPoint[] | undefined, point: MassPoint): MassPoint[] {
  const kept = (series ?? []).filter((p) => p.step < point.step);
  kept.push(point);
  return kept;
}

/**
 * The first example of the middle bucket (a needle halfway in, say): there every segment has tokens, so
 * the split of attention between the context before and the needle means something.
 */
export function defaultExample(examples: readonly ExampleInfo[], buckets: number): number {
  const middle = examples.find((e) => e.bucket === Math.floor(buckets / 2));
  return middle ? middle.index : 0;
}

let requestCounter = 0;
/** Probes sent and not answered yet (by series key, with the time sent), and those to resend on arrival. */
const pending = new Map<string, number>();
const dirty = new Set<string>();
let currentStep = 0;
let stepAtLastProbe = -1;
/** Snapshots received and not applied yet (see applyArrived), and the timer that applies them anyway. */
let arrived: AttentionSnapshot[] = [];
let coalesceTimer: ReturnType<typeof setTimeout> | undefined;

function probe(run: number, example: number): void {
  const key = seriesKey(run, example);
  const sentAt = pending.get(key);
  if (sentAt !== undefined && performance.now() - sentAt < PROBE_TIMEOUT_MS) {
    dirty.add(key);
    return;
  }
  pending.set(key, performance.now());
  sendToTrainer({ type: 'probe', run, example });
}

function probeCompared(): void {
  const { runs, baseArm, meapArm, seed, example } = useAttention.getState();
  if (runs.length === 0) return;
  stepAtLastProbe = currentStep;
  for (const run of comparedRuns(runs, baseArm, meapArm, seed)) probe(run, example);
}

/** Keeps only the snapshots of the runs now compared, then probes them. */
function selectionChanged(): void {
  useAttention.setState((s) => {
    const keep = comparedRuns(s.runs, s.baseArm, s.meapArm, s.seed);
    const snapshots: Record<number, AttentionSnapshot> = {};
    for (const run of keep) {
      const snap = s.snapshots[run];
      if (snap && snap.example === s.example) snapshots[run] = snap;
    }
    return { snapshots };
  });
  probeCompared();
}

export const useAttention = create<AttentionState>()((set, get) => ({
  runs: [],
  config: null,
  task: null,
  examples: [],
  seed: 0,
  baseArm: 0,
  meapArm: 0,
  example: 0,
  layer: 0,
  head: 0,
  input: 'clean',
  snapshots: {},
  massSeries: {},
  generation: { requestId: 0, status: 'idle', prompt: [], result: null, error: '' },

  setSeed(seed) {
    if (seed === get().seed) return;
    set({ seed });
    selectionChanged();
  },
  setMeapArm(arm) {
    if (arm === get().meapArm) return;
    set({ meapArm: arm });
    selectionChanged();
  },
  setExample(example) {
    if (example === get().example) return;
    set({ example });
    selectionChanged();
  },
  setLayer(layer) { set({ layer }); },
  setHead(head) { set({ head }); },
  setInput(input) { set({ input }); },
  generate(prompt, maxTokens) {
    const requestId = ++requestCounter;
    set({ generation: { requestId, status: 'pending', prompt: [...prompt], result: null, error: '' } });
    sendToTrainer({ type: 'generate', requestId, prompt: [...prompt], maxTokens });
  },
}));

function onBuilt(runs: RunInfo[], config: StudyConfig, task: TaskView): void {
  pending.clear();
  dirty.clear();
  dropArrived();
  currentStep = 0;
  const { examples } = task;
  const previous = useAttention.getState();
  const { layers, heads } = config.model;
  // A reset (or a rebuild with the same arms and seeds) keeps the comparison the user picked.
  const sameRuns = previous.runs.length === runs.length
    && previous.runs.every((r, k) => r.arm === runs[k].arm && r.seed === runs[k].seed && r.maskRatio === runs[k].maskRatio);
  const { baseArm, meapArm } = sameRuns ? previous : defaultArms(runs);
  useAttention.setState({
    runs, config, task, examples, baseArm, meapArm,
    seed: sameRuns ? previous.seed : 0,
    example: sameRuns && previous.example < examples.length ? previous.example : defaultExample(examples, config.evaluation.buckets),
    layer: previous.layer < layers ? previous.layer : 0,
    head: previous.head === 'all' || previous.head < heads ? previous.head : 0,
    snapshots: {},
    massSeries: {},
    generation: { requestId: 0, status: 'idle', prompt: [], result: null, error: '' },
  });
  probeCompared();
}

function massPoint(snapshot: AttentionSnapshot): MassPoint {
  const segmentCount = Math.max(useAttention.getState().task?.segmentNames.length ?? 0, segmentCountOf(snapshot.segments));
  return {
    step: snapshot.step,
    byLayer: segmentMassByLayer({ probs: snapshot.clean, layers: snapshot.layers, heads: snapshot.heads, T: snapshot.T },
      snapshot.segments, [snapshot.answerPosition], segmentCount),
  };
}

function dropArrived(): void {
  if (coalesceTimer !== undefined) clearTimeout(coalesceTimer);
  coalesceTimer = undefined;
  arrived = [];
}

/** Applies every snapshot received since the last update in one store update (series points and shown snapshots). */
function applyArrived(): void {
  const batch = arrived;
  dropArrived();
  if (batch.length === 0) return;
  const points = batch.map(massPoint);
  useAttention.setState((s) => {
    const compared = comparedRuns(s.runs, s.baseArm, s.meapArm, s.seed);
    const massSeries = { ...s.massSeries };
    let snapshots = s.snapshots;
    batch.forEach((snapshot, k) => {
      const key = seriesKey(snapshot.run, snapshot.example);
      massSeries[key] = withPoint(massSeries[key], points[k]);
      if (compared.includes(snapshot.run) && snapshot.example === s.example) snapshots = { ...snapshots, [snapshot.run]: snapshot };
    });
    return { massSeries, snapshots };
  });
}

/** Whether a compared run's probe of the shown example is unanswered and not among the snapshots waiting to be applied. */
function awaitingCompared(): boolean {
  const { runs, baseArm, meapArm, seed, example } = useAttention.getState();
  const now = performance.now();
  return comparedRuns(runs, baseArm, meapArm, seed).some((run) => {
    const sentAt = pending.get(seriesKey(run, example));
    return sentAt !== undefined && now - sentAt < PROBE_TIMEOUT_MS && !arrived.some((s) => s.run === run && s.example === example);
  });
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** The same run's attention on the same example at the same step, value for value. */
export function sameSnapshot(a: AttentionSnapshot, b: AttentionSnapshot): boolean {
  return a.run === b.run && a.example === b.example && a.step === b.step && a.T === b.T && a.layers === b.layers && a.heads === b.heads
    && sameValues(a.maskedPositions, b.maskedPositions) && sameValues(a.clean, b.clean) && sameValues(a.masked, b.masked);
}

/**
 * Whether the snapshot repeats one already shown or waiting to be applied (e.g. a probe of a paused
 * study asked twice, or re-asked after a selection change came back): redrawing it would change nothing.
 */
function isRepeat(snapshot: AttentionSnapshot): boolean {
  const shown = useAttention.getState().snapshots[snapshot.run];
  return (shown !== undefined && sameSnapshot(shown, snapshot)) || arrived.some((s) => sameSnapshot(s, snapshot));
}

function onSnapshot(snapshot: AttentionSnapshot): void {
  const key = seriesKey(snapshot.run, snapshot.example);
  pending.delete(key);
  if (!isRepeat(snapshot)) arrived.push(snapshot);
  if (dirty.delete(key)) probe(snapshot.run, snapshot.example);
  // The other compared run's answer to the same round usually follows within milliseconds: wait for it (not long).
  if (!awaitingCompared()) applyArrived();
  else coalesceTimer ??= setTimeout(applyArrived, COALESCE_MS);
}

/** Handles one message from the training Worker (exported for the page's tests of the store wiring). */
export function receiveAttentionMessage(message: FromTrainer): void {
  switch (message.type) {
    case 'built':
      onBuilt(message.runs, message.config, message.task);
      break;
    case 'attention':
      onSnapshot(message.snapshot);
      break;
    case 'evaluation':
      currentStep = message.step;
      probeCompared();
      break;
    case 'state':
      currentStep = message.step;
      if ((message.state === 'paused' || message.state === 'idle' || message.state === 'done') && currentStep !== stepAtLastProbe) {
        probeCompared();
      }
      break;
    case 'generation': {
      const { generation } = useAttention.getState();
      if (message.result.requestId === generation.requestId) {
        useAttention.setState({ generation: { ...generation, status: 'done', result: message.result } });
      }
      break;
    }
    case 'error': {
      const { generation } = useAttention.getState();
      if (generation.status === 'pending') {
        useAttention.setState({ generation: { ...generation, status: 'failed', error: message.message } });
      }
      // A failed probe must not block the next one.
      pending.clear();
      dirty.clear();
      break;
    }
    default:
      break;
  }
}

let connected = false;

/** Subscribes the store to the Worker's messages (once; done on import in the browser). */
export function connectAttentionStore(): void {
  if (connected) return;
  connected = true;
  subscribeToTrainer(receiveAttentionMessage);
}

if (typeof window !== 'undefined' && typeof Worker !== 'undefined') connectAttentionStore();
