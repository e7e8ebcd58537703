// Node's ws as a broadcast server for build/bench.sh --broadcast: every message a client sends goes to every other
// open client with the library's documented broadcast idiom, wss.clients.forEach(c => c.send(data)).
// Listens on 127.0.0.1 with an OS-chosen port and prints "PORT <n>"; exits when stdin ends (or on "quit").
import { WebSocketServer, WebSocket } from 'ws';
import { createInterface } from 'node:readline';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  path: '/broadcast',
  perMessageDeflate: false, // the default; stated because the other servers do not compress either
  maxPayload: 1 << 20,      // the same limit as the .NET servers' defaults
  backlog: 4096,
});

wss.on('listening', () => process.stdout.write(`PORT ${wss.address().port}\n`));
wss.on('error', (e) => { console.error(e); process.exit(1); });
wss.on('connection', (socket) => {
  socket.on('error', () => {}); // a client that resets must not take the server down
  socket.on('message', (data, isBinary) => {
    wss.clients.forEach((c) => {
      if (c !== socket && c.readyState === WebSocket.OPEN) c.send(data, { binary: isBinary });
    });
  });
});

const stdin = createInterface({ input: process.stdin });
stdin.on('line', (line) => { if (line.trim() === 'quit') process.exit(0); });
stdin.on('close', () => process.exit(0));
