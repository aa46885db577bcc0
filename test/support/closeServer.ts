import type { Server } from 'node:http';

/** Closes a local server now, keep-alive connections included (a plain close() waits for them). */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
