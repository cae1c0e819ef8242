// The baseline for the ingest benchmark: a bare Koa app on PORT that answers every request with
// 200 and an empty body (the request body is left for Node to discard). Run as a child process.
import http from 'node:http';
import Koa from 'koa';

const koa = new Koa();
koa.use((ctx) => {
  ctx.status = 200;
  ctx.body = '';
});

const server = http.createServer(koa.callback());
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
