// The web role: the Koa app on PORT.
import http from 'node:http';
import { createApp } from './app';
import type { AppContext } from './context';

export async function startServer(app: AppContext, port = app.config.port): Promise<http.Server> {
  const server = http.createServer(createApp(app).callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, resolve));
  return server;
}
