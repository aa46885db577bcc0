/**
 * The three ways a request is tried again, each with its own budget (inputs of the same names):
 * - `transportRetries` (`max-retries`): the openai client's retries of a fault — a dropped connection,
 *   a timeout, 408/409/5xx — with exponential backoff that honours Retry-After;
 * - `reasks` (`max-reasks`): a structured answer (a grader's verdicts, an auditor's findings, a
 *   discriminator's pick) that arrived but does not parse is asked again;
 * - `rateLimitResends` (`rate-limit-resends`): a request answered 429 is sent again once the
 *   endpoint's pause is over (./rateLimit.ts); these never spend `transportRetries`.
 * One request therefore costs at most (reasks + 1) × (rateLimitResends + 1) × (transportRetries + 1) sends.
 */
export interface RetryPolicy {
  transportRetries: number;
  reasks: number;
  rateLimitResends: number;
  /** Per attempt, in milliseconds (`request-timeout` is in seconds). */
  timeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { transportRetries: 5, reasks: 2, rateLimitResends: 10, timeoutMs: 120_000 };
