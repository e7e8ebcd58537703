// The part build/bench/bun/echo.js and broadcast.js share: Bun.serve (uWebSockets underneath) on 127.0.0.1 with an
// OS-chosen port, upgrading only `path` (other paths get 404), with the .NET servers' settings, then the harness's
// contract (build/bench/epoll-client/run.sh, build/bench/LoadGen): print "PORT <n>", exit when stdin ends or on "quit",
// answer "gc" with "GC <RSS bytes> <JS heap used bytes>" after a full collection (LoadGen's scenario 5).
import { createInterface } from 'node:readline';

export function serveWebSocket(path, handlers) {
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req, server) {
      if (new URL(req.url).pathname !== path) return new Response('not found', { status: 404 });
      return server.upgrade(req) ? undefined : new Response('upgrade required', { status: 426 });
    },
    websocket: {
      ...handlers,
      perMessageDeflate: false,   // the other servers do not compress either
      maxPayloadLength: 1 << 20,  // the same limit as the .NET servers' defaults
      idleTimeout: 960,           // Bun's maximum: the default 120 s (and its pings) could touch quiet connections in a run
    },
  });
  process.stdout.write(`PORT ${server.port}\n`);
  const stdin = createInterface({ input: process.stdin });
  stdin.on('line', (line) => {
    const command = line.trim();
    if (command === 'quit') process.exit(0);
    // As the .NET servers: a full synchronous collection, then "GC <RSS bytes> <JS heap bytes>" (scenario 5).
    if (command === 'gc') {
      Bun.gc(true);
      setTimeout(() => process.stdout.write(`GC ${process.memoryUsage().rss} ${process.memoryUsage().heapUsed}\n`), 200);
    }
  });
  stdin.on('close', () => process.exit(0));
}
