// Bun's WebSocket server (uWebSockets underneath) as a broadcast server for build/bench.sh --broadcast: every
// connection on /broadcast subscribes to one topic, and every message a client sends is published to it with
// uWebSockets' pub/sub (ws.publish: every subscriber except the sender, like the other servers' "except: sender").
import { serveWebSocket } from './serve.js';

const topic = 'all';
serveWebSocket('/broadcast', {
  open(ws) { ws.subscribe(topic); },
  message(ws, message) { ws.publish(topic, message); },
});
