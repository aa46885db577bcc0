/**
 * Where a run's messages go: the Actions log (core.info / core.warning) or the CLI's stderr. Every
 * message may quote a server or a corpus, so the logger given to the engine scrubs secrets itself.
 */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  /** Every finished record (CLI live bar on a terminal); `finished` once the replay ends, however it ends. */
  progress?(done: number, total: number, errors: number, finished?: boolean): void;
}
