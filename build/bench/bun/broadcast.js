// Bun's WebSocket server (uWebSockets underneath) as a broadcast server for build/bench.sh --broadcast: every
// connection subscribes to one topic, and every message a client sends is published to that topic with uWebSockets'
// pub/sub (ws.publish: every subscriber except the sender, like the other servers' "except: sender").
// Listens on 127.0.0.1 with an OS-chosen port, path /broadcast, and prints "PORT <n>"; exits when stdin ends (or "quit").
import { createInterface } from 'node:readline';

const topic = 'all';
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req, server) {
    if (new URL(req.url).pathname !== '/broadcast') return new Response('not found', { status: 404 });
    return server.upgrade(req) ? undefined : new Response('upgrade required', { status: 426 });
  },
  websocket: {
    open(ws) { ws.subscribe(topic); },
    message(ws, message) { ws.publish(topic, message); },
    perMessageDeflate: false,   // the other servers do not compress either
    maxPayloadLength: 1 << 20,  // the same limit as the .NET servers' defaults
    idleTimeout: 960,           // Bun's maximum; subscribers only receive, and the default 120 s could close them
  },
});

process.stdout.write(`PORT ${server.port}\n`);
const stdin = createInterface({ input: process.stdin });
stdin.on('line', (line) => { if (line.trim() === 'quit') process.exit(0); });
stdin.on('close', () => process.exit(0));
