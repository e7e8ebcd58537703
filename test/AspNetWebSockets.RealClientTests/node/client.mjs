// Node's `ws` client against the AspNetWebSockets server, driven by ../Node/NodeWsTests.cs.
//
//   node client.mjs <ws-url> <scenario> [json-options]
//
// Runs one scenario and prints one line of JSON with what the client saw. On failure it prints the reason on stderr
// and exits with 1. Every wait is bounded; the whole run is bounded by options.timeoutMs (the test also kills it).
import { createHash, randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import WebSocket from "ws";

const [url, scenario, json] = process.argv.slice(2);
const options = json ? JSON.parse(json) : {};

const deadline = setTimeout(() => fail(new Error(`scenario ${scenario} did not finish within ${options.timeoutMs ?? 20000} ms`)),
  options.timeoutMs ?? 20000);

function fail(error) {
  process.stderr.write(`client.mjs ${scenario}: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
}

function withTimeout(promise, ms, what) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
const sha256 = data => createHash("sha256").update(data).digest("hex");

// A string of exactly byteLength bytes of UTF-8 mixing 1-, 2-, 3- and 4-byte characters.
function text(byteLength) {
  const unit = "aé€😀"; // 1 + 2 + 3 + 4 = 10 bytes
  return unit.repeat(Math.floor(byteLength / 10)) + "a".repeat(byteLength % 10);
}

// Bytes of a highly compressible kind: a repeating pattern.
function compressible(size) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    bytes[i] = (i % 64) + 32;
  }
  return bytes;
}

// Opens a client. deflate: false turns ws's permessage-deflate offer off, true keeps ws's default offer
// ("permessage-deflate; client_max_window_bits"), and an object is passed to ws as its perMessageDeflate options.
function connect(target, { protocols, deflate = false, autoPong = true } = {}) {
  const client = { messages: [], waiters: [], pings: 0, pongs: [], pongWaiters: [], responseHeaders: null, errors: [], socket: null };
  const settings = {
    autoPong,
    maxPayload: 64 * 1024 * 1024,
    handshakeTimeout: 10000,
    // Our own TCP socket, so the bytes that crossed the wire can be counted (compressed or not).
    createConnection: options => (client.socket = createConnection(options)),
  };
  if (deflate === false) {
    settings.perMessageDeflate = false;
  } else if (typeof deflate === "object") {
    settings.perMessageDeflate = deflate;
  } // else: leaving the key out keeps ws's default offer
  const ws = new WebSocket(target, protocols, settings);
  client.ws = ws;
  client.opened = new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (request, response) => {
      request.destroy();
      reject(new Error(`the server answered the upgrade with ${response.statusCode}`));
    });
  });
  client.opened.catch(() => {});
  client.closed = new Promise(resolve => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })));
  ws.on("upgrade", response => { client.responseHeaders = response.headers; });
  ws.on("error", error => client.errors.push(error.message));
  ws.on("ping", () => { client.pings++; });
  ws.on("pong", data => {
    const waiter = client.pongWaiters.shift();
    if (waiter) {
      waiter(data);
    } else {
      client.pongs.push(data);
    }
  });
  ws.on("message", (data, isBinary) => {
    const message = { data: Buffer.isBuffer(data) ? data : Buffer.concat(data), isBinary };
    const waiter = client.waiters.shift();
    if (waiter) {
      waiter(message);
    } else {
      client.messages.push(message);
    }
  });
  // Waiting for a message or a pong also ends, with the close code and reason, when the connection closes first.
  const orClose = (promise, what) => Promise.race([promise, client.closed.then(({ code, reason }) => {
    throw new Error(`the connection closed with ${code} '${reason}' while waiting for ${what}`);
  })]);
  client.next = (ms = 20000) => client.messages.length > 0
    ? Promise.resolve(client.messages.shift())
    : withTimeout(orClose(new Promise(resolve => client.waiters.push(resolve)), "a message"), ms, "a message");
  client.nextPong = (ms = 10000) => client.pongs.length > 0
    ? Promise.resolve(client.pongs.shift())
    : withTimeout(orClose(new Promise(resolve => client.pongWaiters.push(resolve)), "a pong"), ms, "a pong");
  client.waitClosed = (ms = 10000) => withTimeout(client.closed, ms, "the close event");
  client.open = (ms = 10000) => withTimeout(client.opened, ms, "the open event");
  client.handshake = () => ({
    protocol: ws.protocol,
    extensions: ws.extensions,
    responseExtensions: client.responseHeaders?.["sec-websocket-extensions"] ?? null,
  });
  client.wire = () => ({ read: client.socket?.bytesRead ?? -1, written: client.socket?.bytesWritten ?? -1 });
  return client;
}

async function closeNormally(client) {
  client.ws.close(1000, "done");
  return await client.waitClosed();
}

const scenarios = {
  // One message of options.size bytes, text or binary, echoed back and compared byte for byte. Binary is random
  // (incompressible) unless options.compressible; text is always compressible. Reports the bytes on the wire.
  async echo({ size, binary, deflate, compressible: repetitive = false }) {
    const client = connect(url, { deflate });
    await client.open();
    const payload = binary ? (repetitive ? compressible(size) : randomBytes(size)) : Buffer.from(text(size), "utf8");
    const before = client.wire();
    client.ws.send(binary ? payload : payload.toString("utf8"), { binary });
    const echo = await client.next();
    const after = client.wire();
    return {
      ...client.handshake(),
      wire: { read: after.read - before.read, written: after.written - before.written },
      sentBytes: payload.length,
      sentSha256: sha256(payload),
      receivedBytes: echo.data.length,
      receivedBinary: echo.isBinary,
      equal: payload.equals(echo.data),
      close: await closeNormally(client),
    };
  },

  // One message sent as several frames with fin: false (an empty fragment and a ping between fragments included);
  // a text message is split inside a four-byte character, which is valid: UTF-8 is checked per message.
  async fragmented({ binary, deflate }) {
    const client = connect(url, { deflate });
    await client.open();
    let pieces;
    if (binary) {
      const whole = randomBytes(1024 * 1024);
      pieces = [];
      for (let offset = 0; offset < whole.length; offset += 64 * 1024) {
        pieces.push(whole.subarray(offset, offset + 64 * 1024));
      }
    } else {
      const whole = Buffer.from("fragmented ✓ message with a four-byte 😀 split across frames", "utf8");
      const emoji = whole.indexOf(Buffer.from("😀", "utf8"));
      pieces = [whole.subarray(0, 5), whole.subarray(5, emoji + 2), whole.subarray(emoji + 2)];
    }
    pieces.splice(1, 0, Buffer.alloc(0)); // an empty non-final fragment is legal
    const whole = Buffer.concat(pieces);
    const pingPayload = Buffer.from("between fragments");
    for (let i = 0; i < pieces.length; i++) {
      client.ws.send(pieces[i], { binary, fin: i === pieces.length - 1 });
      if (i === 1) {
        client.ws.ping(pingPayload); // a control frame between data fragments (RFC 6455 §5.4)
      }
    }
    const pong = await client.nextPong();
    const echo = await client.next();
    return {
      ...client.handshake(),
      fragments: pieces.length,
      sentBytes: whole.length,
      sentSha256: sha256(whole),
      receivedBytes: echo.data.length,
      receivedBinary: echo.isBinary,
      equal: whole.equals(echo.data),
      pongMatchesPing: pong.equals(pingPayload),
      close: await closeNormally(client),
    };
  },

  // options.count messages cycling through options.sizes, text and binary (random or repetitive), all sent before any
  // echo is read, so compression contexts (when taken over) carry from message to message in both directions; every
  // echo must match, in order.
  async sequence({ count, deflate, sizes }) {
    const client = connect(url, { deflate });
    await client.open();
    const sent = [];
    for (let i = 0; i < count; i++) {
      const size = sizes[i % sizes.length];
      const binary = i % 3 === 2;
      const payload = binary ? (i % 2 === 0 ? randomBytes(size) : compressible(size)) : Buffer.from(text(size), "utf8");
      sent.push({ payload, binary });
      client.ws.send(binary ? payload : payload.toString("utf8"), { binary });
    }
    let mismatches = 0;
    for (const expected of sent) {
      const echo = await client.next();
      if (echo.isBinary !== expected.binary || !echo.data.equals(expected.payload)) {
        mismatches++;
      }
    }
    return { ...client.handshake(), count: sent.length, mismatches, wire: client.wire(), close: await closeNormally(client) };
  },

  // Offers options.offer as Sec-WebSocket-Protocol; reports what was negotiated, or why the client refused.
  async subprotocols({ offer }) {
    const client = connect(url, { protocols: offer });
    try {
      await client.open();
    } catch (error) {
      return { opened: false, error: error.message, close: await client.waitClosed() };
    }
    client.ws.send("after negotiation");
    const echo = await client.next();
    return { opened: true, ...client.handshake(), echo: echo.data.toString("utf8"), close: await closeNormally(client) };
  },

  // The client closes with options.code and options.reason (no code at all when code is null).
  async clientClose({ code, reason }) {
    const client = connect(url);
    await client.open();
    client.ws.send("before closing");
    await client.next();
    if (code === null || code === undefined) {
      client.ws.close();
    } else {
      client.ws.close(code, reason);
    }
    return { close: await client.waitClosed() };
  },

  // The server closes (the /close/{code} endpoint uses the first message's text as the reason).
  async serverClose({ reason }) {
    const client = connect(url);
    await client.open();
    client.ws.send(reason);
    return { close: await client.waitClosed(), errors: client.errors };
  },

  // Pings from the client, each answered by a pong with the same payload (up to the 125-byte maximum).
  async ping() {
    const client = connect(url);
    await client.open();
    const payloads = [Buffer.alloc(0), Buffer.from("hello ping ✓", "utf8"), randomBytes(125)];
    const pongs = [];
    for (const payload of payloads) {
      client.ws.ping(payload);
      pongs.push((await client.nextPong()).toString("hex"));
    }
    return { sent: payloads.map(p => p.toString("hex")), pongs, close: await closeNormally(client) };
  },

  // Stays silent for options.idleMs while the server's keep-alive pings arrive; ws answers them unless autoPong is false.
  async serverPings({ idleMs, autoPong }) {
    const client = connect(url, { autoPong });
    await client.open();
    const closedEarly = await Promise.race([sleep(idleMs).then(() => false), client.closed.then(() => true)]);
    const result = { pings: client.pings, readyStateAfterIdle: client.ws.readyState, closedDuringIdle: closedEarly };
    if (closedEarly) {
      return { ...result, close: await client.closed };
    }
    client.ws.send("still here");
    const echo = await client.next();
    return { ...result, echo: echo.data.toString("utf8"), close: await closeNormally(client) };
  },
};

const run = scenarios[scenario];
if (!url || !run) {
  fail(new Error(`usage: node client.mjs <ws-url> <${Object.keys(scenarios).join("|")}> [json-options]`));
}

run(options).then(result => {
  clearTimeout(deadline);
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}, fail);
