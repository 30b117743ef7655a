/**
 * dependency-cruiser parses TypeScript with the `typescript` package's compiler API, which TypeScript 7 (our
 * type checker, a native binary) no longer ships, or with @swc/core — but it calls swc with `tsx: false`, so
 * every .tsx file fails to parse. This resolve hook hands dependency-cruiser (and only it) a thin @swc/core
 * wrapper that turns `tsx` on for .tsx files. Type-only imports are still seen (swc keeps them in the AST).
 */
const WRAPPER = new URL('./swc-tsx.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === '@swc/core' && context.parentURL?.includes('/node_modules/dependency-cruiser/')) {
    return { url: WRAPPER, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
