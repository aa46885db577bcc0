import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ConfigErrors } from '../common/errors.js';
import { notARegularFile } from '../corpus/lines.js';

/**
 * Path traversal guard for the files a registration references (corpus, rubric files, calibration).
 *
 * A registration is data that may come from a pull request. Its paths must not make deploysim read
 * (and send to a model endpoint, or hash into a report) files outside the project, such as
 * `corpus.path: ../../etc/passwd` or an absolute path, or a symlink pointing outside.
 *
 * Rule: after resolving symlinks, a referenced file must lie inside one of
 *  - the directory of the registration file,
 *  - the git work tree that contains the registration file (the nearest ancestor with `.git`), or
 *  - the working directory.
 * The lock refuses files outside the repository on its own; this check also holds with `--no-lock`
 * and runs before any referenced file is read.
 */
export async function checkReferencedPaths(displayPath: string, registrationPath: string, cwd: string, refs: [field: string, value: string][]): Promise<void> {
  const registrationDir = path.dirname(registrationPath);
  const roots = await Promise.all([registrationDir, workTreeOf(registrationDir), cwd].filter((r): r is string => r !== undefined).map(real));
  const problems: string[] = [];
  for (const [field, value] of refs) {
    const target = await real(path.resolve(registrationDir, value));
    if (!roots.some((root) => inside(root, target))) {
      problems.push(
        `${field}: "${value}" resolves to ${target}, outside the repository and the working directory; ` +
          'referenced files must live in the repository (relative to the registration file) so the lock can cover them',
      );
      continue;
    }
    // A FIFO, a device or a directory would block a read or fail later, with requests possibly sent.
    const kind = await notARegularFile(target).catch(() => undefined);
    if (kind) problems.push(`${field}: "${value}" is ${kind === 'not a regular file' ? 'not a regular file' : `${kind}, not a regular file`}; referenced files must be regular files`);
  }
  if (problems.length > 0) throw new ConfigErrors(problems.map((p) => `${displayPath}: ${p}`), `${displayPath} references files outside the project:`);
}

/** A path as printed for the user: relative to the working directory when inside it, else absolute. */
export function shownPath(cwd: string, target: string): string {
  const absolute = path.resolve(cwd, target);
  return inside(cwd, absolute) ? path.relative(cwd, absolute) || absolute : absolute;
}

function inside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..');
}

/** The real path, resolving symlinks of the longest existing prefix (the file itself may not exist yet). */
async function real(p: string): Promise<string> {
  const resolved = path.resolve(p);
  try {
    return await realpath(resolved);
  } catch {
    const parent = path.dirname(resolved);
    if (parent === resolved) return resolved;
    return path.join(await real(parent), path.basename(resolved));
  }
}

function workTreeOf(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}
