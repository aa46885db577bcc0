/**
 * The import rules of src/ (docs/architecture.md draws them): no cycles, and every import goes down
 * the floors, never up and never sideways into another feature. `npm run lint` runs this.
 */
const FEATURES = ['grade', 'replay', 'audit', 'realism', 'calibration', 'lock', 'report', 'github', 'init'];
const feature = (name) => `^src/${name}/`;
const anyFeature = `^src/(${FEATURES.join('|')})/`;
// report/schema.ts is the report's types: the pure floor, readable by every floor above it.
const REPORT_SCHEMA = '^src/report/schema\\.ts$';

const floors = {
  entry: '^src/(index\\.ts|cli\\.ts|action/|cli/)',
  root: '^src/runtime/',
  pipeline: '^src/(engine|merge)/',
  inputs: '^src/(registration|corpus|import|cache|transcript)/',
  models: '^src/models/',
  pure: '^src/(stats|decision|redact)/',
  ground: '^src/common/',
};

/** A measurement may import the feature it measures, and nothing else of another feature. */
const MEASURES = { realism: ['replay'], calibration: ['grade'] };

const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to });

module.exports = {
  forbidden: [
    forbid('no-cycles', 'An import cycle ties modules that should be apart; move what both need one floor down.', { path: '^src/' }, { circular: true }),
    forbid('ground-imports-nothing', 'src/common/ is the ground floor: it imports no other folder of src/.', { path: floors.ground }, { path: '^src/', pathNot: floors.ground }),
    forbid('pure-imports-no-io-floor', 'stats/, decision/, redact/ and report/schema.ts are pure: they import only each other and the ground.', { path: [floors.pure, REPORT_SCHEMA] }, { path: '^src/', pathNot: [floors.pure, REPORT_SCHEMA, floors.ground] }),
    forbid('models-know-no-feature', 'models/ knows no feature and no prompt: it imports only the ground.', { path: floors.models }, { path: '^src/', pathNot: [floors.models, floors.ground] }),
    forbid('inputs-import-no-feature', 'registration/, corpus/, import/, cache/ and transcript/ read inputs: they import no feature and nothing above.', { path: floors.inputs }, { path: [anyFeature, floors.pipeline, floors.root, floors.entry], pathNot: REPORT_SCHEMA }),
    forbid('features-import-nothing-above', 'A feature never imports the pipeline, the composition root or an entry point.', { path: anyFeature }, { path: [floors.pipeline, floors.root, floors.entry] }),
    ...FEATURES.map((name) =>
      forbid(
        `${name}-imports-no-other-feature`,
        `${name}/ imports no other feature${MEASURES[name] ? ` (but ${MEASURES[name].join(', ')}, which it measures)` : ''}: what two features share goes one floor down.`,
        { path: feature(name) },
        { path: anyFeature, pathNot: [feature(name), REPORT_SCHEMA, ...(MEASURES[name] ?? []).map(feature)] },
      ),
    ),
    forbid('pipeline-imports-no-entry', 'engine/ and merge/ never import the composition root or an entry point.', { path: floors.pipeline }, { path: [floors.root, floors.entry] }),
    forbid('root-imports-no-entry', 'runtime/ never imports an entry point.', { path: floors.root }, { path: floors.entry }),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
