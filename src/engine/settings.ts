import { DEMO_ENDPOINT } from '../common/demo.js';
import type { RetryPolicy } from '../models/retryPolicy.js';

export interface EndpointSettings {
  model: string;
  baseUrl: string;
  apiKey: string;
  /** The `*-headers` input: sent with every request to this endpoint. */
  headers?: Record<string, string>;
}

/** Everything a gate run needs, read once from action inputs or CLI flags (../runtime/settings.ts). */
export interface Settings {
  registration: string;
  candidate: EndpointSettings;
  grader: { baseUrl: string; apiKey: string; headers?: Record<string, string> };
  simulator: { model?: string; baseUrl: string; apiKey: string; headers?: Record<string, string> };
  /** The current production model, replayed on the same prefixes for a paired comparison (`baseline-model`). */
  baseline?: EndpointSettings;
  lockRef?: string;
  /** CLI only: skip the lock for local experiments; the report says `verified: false`. */
  noLock: boolean;
  githubToken?: string;
  comment: boolean;
  outputDir: string;
  cacheDir?: string;
  /** Requests in flight at once, every endpoint together. */
  concurrency: number;
  retry: RetryPolicy;
  /** The cap on one model answer, raw and decompressed (`max-response-mb`). */
  maxResponseBytes: number;
  shard?: { index: number; count: number };
  maxRequests?: number;
  onMissingSecrets: 'fail' | 'skip';
  /** Path of a realism.json (`deploysim realism`) to include in the report and comment (informational). */
  realism?: string;
}

/** Whether the candidate or the grader is the built-in demo endpoint (the report and the comment then say DEMO). */
export function usesDemo(settings: Pick<Settings, 'candidate' | 'grader'>): boolean {
  return settings.candidate.baseUrl === DEMO_ENDPOINT || settings.grader.baseUrl === DEMO_ENDPOINT;
}
