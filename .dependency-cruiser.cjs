/**
 * The house plan as import rules, checked by `npm run check:deps` (in CI via .ci/run and test/arch).
 * Layers, lowest first (docs/architecture.md): engine → enrichment → adapters → config → bot → playground →
 * compose → cli. A module may import its own layer (without circles) and any layer below it, never one above.
 */
const LAYERS = ['engine', 'enrichment', 'adapters', 'config', 'bot', 'playground', 'compose', 'cli'];

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer}`,
  comment: `${layer}/ sits below ${LAYERS.slice(i + 1).join(', ')}: it must not import them`,
  severity: 'error',
  from: { path: `^${layer}/` },
  to: { path: `^(${LAYERS.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other in a circle cannot be understood (or tested) one at a time',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    detectJSDocImports: false,
  },
};
