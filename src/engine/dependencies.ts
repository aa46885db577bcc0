import type { Logger } from '../common/logger.js';
import type { SecretRegistry } from '../common/secrets.js';
import type { CompletionCache } from '../cache/completionCache.js';
import type { ModelGateway } from '../models/gateway.js';
import type { Registration } from '../registration/load.js';
import type { LockedFile, Report } from '../report/schema.js';

/** What the lock step proved (or, with --no-lock, only hashed). */
export interface LockOutcome {
  verified: boolean;
  lockRef: string | null;
  files: LockedFile[];
  violations: { path: string; kinds: string[]; detail: string }[];
  /** The message explaining the violations, when there are any. */
  message?: string;
  /** Things the lock holds but that weaken what it proves (logged as warnings). */
  warnings?: string[];
}

/** Proves the registration and its files were committed before the change (runs before sampling). */
export type LockStep = (registration: Registration) => Promise<LockOutcome>;

/** What a gate run is given by the composition root (../runtime/root.ts): nothing here is read from globals. */
export interface GateDependencies {
  cwd: string;
  logger: Logger;
  secrets: SecretRegistry;
  now: () => Date;
  /** Every model request goes through here (one client per endpoint, shared concurrency, the cache). */
  models: ModelGateway;
  /** `cache-dir`, when set: the same store the gateway reads and writes. */
  cache?: CompletionCache;
  lock: LockStep;
  runUrl?: string;
  /** Aborted on SIGINT/SIGTERM (../common/cancellation.ts): the run stops cleanly and throws a RunCancelledError. */
  cancel?: AbortSignal;
}

export interface GateOutcome {
  report: Report;
  reportPath: string;
  resultsPath: string;
  /** Model requests handed to the client during the run (0 when the lock or config stopped it). */
  requestsStarted: number;
}
