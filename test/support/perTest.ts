import { afterEach } from 'vitest';

/**
 * For a test file: wraps a server starter (startMockOpenAI, startMockGitHub, …) so that every server
 * it starts during a test is closed after that test, whether the test passed or not.
 */
export function closedAfterEach<Args extends unknown[], Server extends { close(): Promise<void> }>(start: (...args: Args) => Promise<Server>): (...args: Args) => Promise<Server> {
  const started: Server[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.close()));
  });
  return async (...args) => {
    const server = await start(...args);
    started.push(server);
    return server;
  };
}
