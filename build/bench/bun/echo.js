// Bun's WebSocket server (uWebSockets underneath) as echo server D for build/bench.sh --client c: every message goes
// straight back with ws.send, in the type it came in (a text message arrives as a string, binary as a Buffer).
// Listens on 127.0.0.1 with an OS-chosen port, path /echo, and prints "PORT <n>"; exits when stdin ends (or on "quit"),
// the same contract as build/bench/Servers and build/bench/node/broadcast-server.js.
import { createInterface } from 'node:readline';

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req, server) {
    if (new URL(req.url).pathname !== '/echo') return new Response('not found', { status: 404 });
    return server.upgrade(req) ? undefined : new Response('upgrade required', { status: 426 });
  },
  websocket: {
    message(ws, message) { ws.send(message); },
    perMessageDeflate: false,   // the other servers do not compress either
    maxPayloadLength: 1 << 20,  // the same limit as the .NET servers' defaults
    idleTimeout: 960,           // Bun's maximum; the default 120 s could close a slow run's quiet connections
  },
});

process.stdout.write(`PORT ${server.port}\n`);
const stdin = createInterface({ input: process.stdin });
stdin.on('line', (line) => { if (line.trim() === 'quit') process.exit(0); });
stdin.on('close', () => process.exit(0));
