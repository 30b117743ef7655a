// @swc/core as dependency-cruiser uses it, with JSX parsing on for .tsx files (see hooks.mjs).
import swc from '@swc/core';

const withTsx = (options, tsx) => ({ ...options, syntax: 'typescript', tsx });

export function parseFileSync(fileName, options) {
  return swc.parseFileSync(fileName, withTsx(options, fileName.endsWith('.tsx')));
}

/** Sources without a name: TypeScript first (`<T>x` casts), JSX if that fails. */
export function parseSync(source, options) {
  try {
    return swc.parseSync(source, withTsx(options, false));
  } catch {
    return swc.parseSync(source, withTsx(options, true));
  }
}

export const version = swc.version;
export default { parseFileSync, parseSync, version };
