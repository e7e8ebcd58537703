// Bun's WebSocket server (uWebSockets underneath) as echo server D for build/bench.sh: every message on /echo goes
// straight back with ws.send, in the type it came in (a text message arrives as a string, binary as a Buffer).
import { serveWebSocket } from './serve.js';

serveWebSocket('/echo', {
  message(ws, message) { ws.send(message); },
});
