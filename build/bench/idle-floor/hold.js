// Opens N plain TCP connections to 127.0.0.1:PORT, prints "OPEN <n>", and holds them until stdin ends. Bounded waits.
'use strict';
const net = require('net');
const [port, count] = [Number(process.argv[2]), Number(process.argv[3])];
const sockets = [];
function open() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(30000, () => reject(new Error('timed out')));
    socket.on('error', reject);
    socket.on('connect', () => { socket.setTimeout(0); resolve(socket); });
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
})().catch((e) => { console.error(e.message); process.exit(1); });
