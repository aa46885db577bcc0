// Bundles the action and the CLI into dist/ (committed; CI checks it equals a fresh build).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });

// Some bundled dependencies are CommonJS and call require(); give the ESM bundle one.
const banner = [
  "import { createRequire as __deploysimCreateRequire } from 'node:module';",
  'const require = __deploysimCreateRequire(import.meta.url);',
].join('\n');

// The lowest Node the CLI supports (package.json engines; CI runs the tests on it too). The action
// itself runs on the runner's node24 (action.yml).
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  legalComments: 'none',
  logLevel: 'warning',
  charset: 'utf8',
};

await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', banner: { js: banner } });
await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  banner: { js: `#!/usr/bin/env node\n${banner}` },
});
