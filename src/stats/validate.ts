/** Shared argument checks for src/stats (internal; not re-exported). */

/** Throws RangeError unless `x` is a finite integer ≥ 0. */
export function assertCount(name: string, x: number): void {
  if (!Number.isInteger(x) || x < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${x}`);
  }
}

/** Throws RangeError unless 0 ≤ k ≤ n are integers. */
export function assertKN(k: number, n: number): void {
  assertCount('n', n);
  assertCount('k', k);
  if (k > n) throw new RangeError(`k (${k}) must not exceed n (${n})`);
}

/** Throws RangeError unless `x` lies strictly inside (0, 1). */
export function assertOpenUnit(name: string, x: number): void {
  if (!(x > 0 && x < 1)) throw new RangeError(`${name} must be in (0, 1), got ${x}`);
}

/** Throws RangeError unless `x` lies in [0, 1]. */
export function assertUnit(name: string, x: number): void {
  if (!(x >= 0 && x <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${x}`);
}

/** Clamp to [0, 1]. */
export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
