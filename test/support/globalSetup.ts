/**
 * Vitest globalSetup: the e2e and CLI suites run the built bundles (dist/index.js, dist/cli.js).
 * Builds them only when dist/ is missing; otherwise tests run against dist/ as it is (run
 * `npm run build` after changing src/).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export default function setup(): void {
  const entries = ['index.js', 'cli.js'].map((f) => path.join(ROOT, 'dist', f));
  if (entries.every((f) => existsSync(f))) return;
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
}
