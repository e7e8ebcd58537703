// Opens N WebSocket connections to 127.0.0.1:PORT/PATH, echoes one 1-byte message on each (as scenario 5 does), prints
// "OPEN <n>" and holds them until stdin ends. Used by build/bench/idle-heap.sh; with PATH "--tcp", plain TCP connections
// that send nothing (build/bench/idle-floor). Every wait is bounded.
'use strict';
const net = require('net');

const [port, count, path = '/echo'] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
const frame = Buffer.from([0x82, 0x81, 1, 2, 3, 4, 'x'.charCodeAt(0) ^ 1]); // masked binary "x"
const sockets = [];

function open() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0), upgraded = false;
    socket.setTimeout(30000, () => reject(new Error('timed out')));
    socket.on('error', reject);
    socket.on('connect', () => {
      if (path !== '--tcp') return socket.write(request);
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (!upgraded) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!received.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return reject(new Error(received.toString()));
        upgraded = true;
        received = received.subarray(end + 4);
        socket.write(frame);
      }
      if (received.length >= 3) { // the echo: 2-byte header + 1 byte
        socket.setTimeout(0);
        socket.removeAllListeners('data');
        resolve(socket);
      }
    });
  });
}

(async () => {
  for (let done = 0; done < count;) {
    const batch = Math.min(200, count - done);
    sockets.push(...await Promise.all(Array.from({ length: batch }, open)));
    done += batch;
  }
  console.log(`OPEN ${sockets.length}`);
  process.stdin.resume();
  process.stdin.on('end', () => { sockets.forEach((s) => s.destroy()); process.exit(0); });
})().catch((e) => { console.error(`hold.js: ${e.message}`); process.exit(1); });
