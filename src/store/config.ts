/**
 * The study the user is editing: a preset plus edits, mirrored in the URL both ways (the query string is
 * rewritten on every edit; opening a link or going back/forward reads it). Refused link values are listed
 * in `notices` and ignored, never rendered as HTML.
 */
import { create } from 'zustand';
import type { StudyConfig } from '../config/presets';
import {
  applyEdit, ConfigEditError, configFromQuery, configToQuery, presetConfig,
  type EditableField, type EditableValues,
} from './configCodec';

export interface ConfigState {
  presetName: string;
  config: StudyConfig;
  /** Messages about the link the page was opened with (ignored values), or about automatic choices. */
  notices: string[];
  /** Whether the page was opened with config values in its URL (then nothing is chosen for the user). */
  fromLink: boolean;
  /** Sets one value; returns null, or the reason it was refused (the config is then unchanged). */
  edit<K extends EditableField>(field: K, value: EditableValues[K]): string | null;
  /** Replaces the whole study (e.g. "discard edits": back to what is trained). */
  replace(presetName: string, config: StudyConfig): void;
  addNotice(text: string): void;
  dismissNotice(index: number): void;
}

function initial(): Pick<ConfigState, 'presetName' | 'config' | 'notices' | 'fromLink'> {
  const search = typeof location === 'undefined' ? '' : location.search;
  try {
    return configFromQuery(search);
  } catch (error) {
    // configFromQuery refuses values one by one; this only guards against a broken preset table.
    const { presetName, config } = configFromQuery('');
    return { presetName, config, fromLink: false, notices: [`The link could not be read: ${(error as Error).message}`] };
  }
}

export const useConfig = create<ConfigState>()((set, get) => ({
  ...initial(),
  edit(field, value) {
    const { presetName, config } = get();
    try {
      const next = applyEdit(presetName, config, field, value);
      set({ config: next, presetName: field === 'preset' ? (value as string) : presetName });
      return null;
    } catch (error) {
      if (error instanceof ConfigEditError || error instanceof RangeError) return error.message;
      throw error;
    }
  },
  replace(presetName, config) {
    set({ presetName, config: structuredClone(config) });
  },
  addNotice(text) {
    set((s) => ({ notices: s.notices.includes(text) ? s.notices : [...s.notices, text] }));
  },
  dismissNotice(index) {
    set((s) => ({ notices: s.notices.filter((_, i) => i !== index) }));
  },
}));

/** Loads a preset wholesale (every value from the preset). */
export function loadPreset(name: string): void {
  useConfig.getState().replace(name, presetConfig(name));
}

let urlSyncStarted = false;

/** Keeps the URL's query equal to the config, and reads it back on back/forward navigation. */
export function startUrlSync(): void {
  if (urlSyncStarted || typeof window === 'undefined') return;
  urlSyncStarted = true;
  const write = (state: ConfigState) => {
    const query = configToQuery(state.presetName, state.config, location.search);
    if (`?${query}` !== location.search) history.replaceState(history.state, '', `${location.pathname}?${query}${location.hash}`);
  };
  write(useConfig.getState());
  useConfig.subscribe((state, previous) => {
    if (state.config !== previous.config || state.presetName !== previous.presetName) write(state);
  });
  window.addEventListener('popstate', () => {
    const parsed = configFromQuery(location.search);
    const current = useConfig.getState();
    // A hash link changes history without changing the study: keep the state (and its notices) then.
    if (configToQuery(parsed.presetName, parsed.config) === configToQuery(current.presetName, current.config)) return;
    useConfig.setState({ presetName: parsed.presetName, config: parsed.config, notices: parsed.notices });
  });
}
