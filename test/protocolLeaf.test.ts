/**
 * src/session/protocol.ts is the leaf both sides of the Worker share: it must import types only, so the page
 * bundles none of the engine through it. (dependency-cruiser's swc parser does not tell type-only imports
 * apart, so this is checked here, on the source text.)
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

describe('the protocol', () => {
  it('imports and re-exports types only', () => {
    const source = readFileSync('src/session/protocol.ts', 'utf8');
    const statements = source.match(/^(?:import|export)\b[^;]*?\bfrom\s+'[^']+';/gms) ?? [];
    expect(statements.length).toBeGreaterThan(0);
    const valueImports = statements.filter((s) => !/^(?:import|export)\s+type\s/.test(s));
    expect(valueImports).toEqual([]);
    expect(source).not.toMatch(/^import\s+'/m); // no side-effect imports either
  });
});
