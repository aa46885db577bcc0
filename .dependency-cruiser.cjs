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
const KNOWN = [...Object.values(floors), anyFeature, REPORT_SCHEMA];

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
    forbid('every-folder-has-a-floor', 'A new folder of src/ must be placed on a floor here (and in docs/architecture.md) before it imports anything.', { path: '^src/', pathNot: KNOWN }, {}),
    forbid(
      'pure-floor-does-no-io',
      'stats/, decision/, redact/ and report/schema.ts do no I/O: no file system, network, process or model client.',
      { path: [floors.pure, REPORT_SCHEMA] },
      { path: '^(node:)?(fs|fs/promises|http|https|http2|net|dgram|child_process|worker_threads|cluster|readline)$|^(openai|@actions/|@octokit/)', pathNot: '^(node:)?net$' },
    ),
    forbid('pipeline-imports-no-entry', 'engine/ and merge/ never import the composition root or an entry point.', { path: floors.pipeline }, { path: [floors.root, floors.entry] }),
    forbid('root-imports-no-entry', 'runtime/ never imports an entry point.', { path: floors.root }, { path: floors.entry }),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // The graph holds src/ and what it imports (packages and Node's modules as leaves, never followed).
    exclude: { path: '^(test|bench|scripts|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
