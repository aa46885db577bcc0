/**
 * Typed errors. Each carries the process exit code the CLI uses and the action maps to setFailed:
 *  1 — the gate failed closed (lock violated, error budget exceeded, endpoint refused us);
 *  2 — usage, config or input error: raised before any request reaches a model (or only the preflight's probes);
 *  3 — internal error (a bug) or results that could not be recorded (the disk): never a verdict;
 *  130 / 143 — cancelled by SIGINT / SIGTERM (128 + the signal's number, as a shell reports it).
 * A workflow tells a verdict (0, 1) from everything else.
 */
export type ExitCode = 1 | 2 | 3 | 130 | 143;

export abstract class DeploysimError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A registration, input, flag or corpus problem. Nothing has been sent to any model. */
export class ConfigError extends DeploysimError {
  readonly exitCode = 2 as const;
}

/** Several input problems reported together (e.g. every bad corpus line), so users fix them in one go. */
export class ConfigErrors extends ConfigError {
  constructor(
    readonly problems: string[],
    heading: string,
    /** How many problems there are, when `problems` holds only the first of them. */
    total: number = problems.length,
  ) {
    const shown = problems.slice(0, 50);
    const more = total > shown.length ? `\n  … and ${total - shown.length} more` : '';
    super(`${heading}\n${shown.map((p) => `  - ${p}`).join('\n')}${more}`);
  }
}

/**
 * A preflight probe failed (SPEC "Preflight"): the endpoint cannot do what the run needs. Exit 2 like
 * any configuration problem, but the probes were sent: the message says so, never "nothing was sent".
 */
export class PreflightError extends ConfigError {
  readonly sentOnly = 'only the preflight probes were sent; no corpus prefix';
}

/** The run cannot produce a trustworthy verdict (endpoint refuses us, lock violated…): fail closed. */
export class GateError extends DeploysimError {
  readonly exitCode = 1 as const;
}

/**
 * The run was cancelled (Ctrl-C, or Actions cancelling the job): no new request is sent, the ones in
 * flight are abandoned, and nothing is decided. The message says how far it got and how to resume.
 */
/** 128 + the signal's number, as a shell reports a process the signal ended. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export class RunCancelledError extends DeploysimError {
  readonly exitCode: 130 | 143;
  constructor(
    readonly signal: 'SIGINT' | 'SIGTERM',
    message = `Cancelled (${signal}).`,
    /** True when it stopped before any model request. */
    readonly nothingSent = false,
  ) {
    super(message);
    this.exitCode = SIGNAL_EXIT_CODES[signal];
  }
}

/**
 * The run stops before a verdict, and fails closed: nothing that comes after could make it pass (an
 * endpoint refusing every request, a spent request budget, an error budget already exceeded).
 */
export class RunStoppedError extends GateError {}

/** The endpoint refused in a way no retry can fix (bad key, unknown model…): stop the run now. */
export class EndpointRefusedError extends RunStoppedError {}

/**
 * An error that stops the whole run, not one record: a stop or a cancellation. Code that counts a
 * request's failure (a record's error, a bad grader answer, a failed audit) passes these through.
 */
export function stopsTheRun(error: unknown): error is RunStoppedError | RunCancelledError {
  return error instanceof RunStoppedError || error instanceof RunCancelledError;
}

/**
 * What the run produced could not be written (disk full, permissions) after requests were sent:
 * exit 3, naming the file and the cause. Nothing was counted that was not recorded.
 */
export class ResultsNotRecordedError extends DeploysimError {
  readonly exitCode = 3 as const;
}

/** Any error that is none of the above is a bug in deploysim: exit 3, never a verdict's 0 or 1. */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof DeploysimError ? error.exitCode : 3;
}

/** Whether an error is a bug in deploysim (not one of its typed errors). */
export function isInternalError(error: unknown): boolean {
  return !(error instanceof DeploysimError);
}
