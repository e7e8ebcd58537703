// Node's ws as echo server W for build/bench.sh (the C# LoadGen; scenario 5 measures its idle connections): every
// message on /echo goes straight back, in the type it came in. Listens on 127.0.0.1 with an OS-chosen port and prints
// "PORT <n>"; exits when stdin ends (or on "quit"). Started with node --expose-gc, it answers "gc" on stdin as the .NET
// servers do: two full collections, then "GC <RSS bytes> <JS heap used bytes>" (V8's heap stands in for the managed heap).
import { WebSocketServer } from 'ws';
import { createInterface } from 'node:readline';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  path: '/echo',
  perMessageDeflate: false, // the default; stated because the other servers do not compress either
  maxPayload: 1 << 20,      // the same limit as the .NET servers' defaults
  backlog: 4096,
});

wss.on('listening', () => process.stdout.write(`PORT ${wss.address().port}\n`));
wss.on('error', (e) => { console.error(e); process.exit(1); });
wss.on('connection', (socket) => {
  socket.on('error', () => {}); // a client that resets must not take the server down
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});

const stdin = createInterface({ input: process.stdin });
stdin.on('line', (line) => {
  const command = line.trim();
  if (command === 'quit') process.exit(0);
  if (command === 'gc') {
    if (typeof global.gc !== 'function') { console.error('echo-server.js: "gc" needs node --expose-gc'); process.exit(1); }
    global.gc(); global.gc();
    // Let the collector return pages before RSS is read, as the .NET servers sleep 200 ms after theirs.
    setTimeout(() => {
      const m = process.memoryUsage();
      process.stdout.write(`GC ${m.rss} ${m.heapUsed}\n`);
    }, 200);
  }
});
stdin.on('close', () => process.exit(0));
