/**
 * The composition root: inputs or flags in, typed settings and a runtime out. Every entry point (the
 * action, and each CLI command that calls a model) builds what it runs with here, so keys, transports,
 * the cache, logging, the clock and cancellation are wired the same way everywhere.
 */
import path from 'node:path';
import { CompletionCache } from '../cache/completionCache.js';
import { DEMO_ENDPOINT } from '../common/demo.js';
import type { Logger } from '../common/logger.js';
import { SecretRegistry } from '../common/secrets.js';
import type { Settings } from '../engine/settings.js';
import type { Endpoint } from '../models/chatClient.js';
import { ModelGateway, type Transport } from '../models/gateway.js';
import type { RetryPolicy } from '../models/retryPolicy.js';
import { DEMO_TRANSPORT } from './demoProvider.js';
import { gateEndpoints, missingKeys, parseSettings, readKeys, type EndpointName, type RawInputs, type RawValues } from './settings.js';

/** What the process gives a command: where it runs, its environment, where messages go, and its signals. */
export interface RootIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Unscrubbed sinks: the runtime's logger scrubs every key it was given before passing a message on. */
  log: Logger;
  /**
   * Where each key is registered the moment it is read. The entry makes it first, so that an error in
   * parsing the inputs is scrubbed of the keys read before it (the action's registry masks with core.setSecret).
   */
  secrets?: SecretRegistry;
  /** Aborted on SIGINT/SIGTERM (../common/cancellation.ts). */
  cancel?: AbortSignal;
  now?: () => Date;
  /** How a non-demo endpoint is reached instead of node:http (tests with an in-process server). */
  transportFor?: (endpoint: Endpoint) => Transport | undefined;
}

/** What a command runs with: every collaborator the engine and the features take. */
export interface Runtime {
  cwd: string;
  secrets: SecretRegistry;
  /** Scrubs every registered secret from each message. */
  logger: Logger;
  now: () => Date;
  cancel?: AbortSignal;
  models: ModelGateway;
  cache?: CompletionCache;
}

/** The request settings every model-calling command has. */
export interface RequestSettings {
  concurrency: number;
  retry: RetryPolicy;
  maxResponseBytes: number;
  cacheDir?: string;
  /** `max-requests`: a budget the gateway enforces on every request it sends. */
  maxRequests?: number;
}

function scrubbingLogger(log: Logger, secrets: SecretRegistry): Logger {
  return {
    info: (m) => log.info(secrets.scrub(m)),
    warning: (m) => log.warning(secrets.scrub(m)),
    ...(log.progress ? { progress: log.progress.bind(log) } : {}),
  };
}

/** The runtime for request settings already parsed; `secrets` holds every key read for them. */
export function createRuntime(request: RequestSettings, secrets: SecretRegistry, io: RootIo): Runtime {
  const logger = scrubbingLogger(io.log, secrets);
  const cache = request.cacheDir ? new CompletionCache(path.resolve(io.cwd, request.cacheDir)) : undefined;
  const models = new ModelGateway({
    concurrency: request.concurrency,
    retry: request.retry,
    maxResponseBytes: request.maxResponseBytes,
    maxRequests: request.maxRequests,
    secrets,
    cache,
    cancel: io.cancel,
    warning: (m) => logger.warning(m),
    // The demo endpoint is a provider like any other: the features' responders behind the client's fetch hook.
    transportFor: (endpoint) => (endpoint.baseUrl === DEMO_ENDPOINT ? DEMO_TRANSPORT : io.transportFor?.(endpoint)),
  });
  return { cwd: io.cwd, secrets, logger, now: io.now ?? (() => new Date()), cancel: io.cancel, models, cache };
}

/** Reads the keys among `raw` and the environment into a new registry (masked from the first moment). */
export function secretsFrom(raw: RawValues, io: RootIo): SecretRegistry {
  const secrets = io.secrets ?? new SecretRegistry();
  readKeys(raw, io.env, secrets);
  return secrets;
}

export interface ComposedGate {
  settings: Settings;
  runtime: Runtime;
  /** The endpoints this run calls. */
  endpoints: EndpointName[];
  /** Inputs naming a key that is empty for an endpoint this run calls (the entry decides what that means). */
  missingKeys: string[];
}

/** The gate's settings and runtime from its inputs (action) or flags (`deploysim run`). */
export function composeGate(
  raw: RawInputs,
  io: RootIo,
  options: { allowNoLock: boolean; noLock?: boolean },
  /** Tests: settings no input can express (a sub-second timeout). */
  adjust: (settings: Settings) => Settings = (s) => s,
): ComposedGate {
  const values = { ...raw } as RawValues;
  const secrets = secretsFrom(values, io);
  secrets.add(values['github-token']);
  const settings = adjust(parseSettings(values as RawInputs, options));
  const endpoints = gateEndpoints(values);
  return { settings, runtime: createRuntime(settings, secrets, io), endpoints, missingKeys: missingKeys(values, endpoints) };
}

/** Settings and runtime for a command that calls only the named endpoints (calibrate, realism). */
export function composeCommand<T extends RequestSettings>(
  raw: RawValues,
  io: RootIo,
  endpoints: readonly EndpointName[],
  parse: (raw: RawValues) => T,
): { settings: T; runtime: Runtime; missingKeys: string[] } {
  const values = { ...raw };
  const secrets = secretsFrom(values, io);
  const settings = parse(values);
  return { settings, runtime: createRuntime(settings, secrets, io), missingKeys: missingKeys(values, endpoints) };
}
