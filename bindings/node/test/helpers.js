'use strict';
// Stand-in PiecesOS processes for the tests (the program is $PIECES_OS_SERVER; bindings/check.sh builds
// it), and small helpers. Every wait is bounded.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const { after } = require('node:test');

const WAIT_MS = 30000;
const running = [];

after(() => {
  for (const server of running) server.kill();
});

/** Starts a stand-in with the given options on a free port; resolves to its URL. Stopped after the file's tests. */
function standIn(...options) {
  const program = process.env.PIECES_OS_SERVER;
  assert.ok(program, 'set PIECES_OS_SERVER to the stand-in program');
  const server = spawn(program, ['--port', '0', ...options], { stdio: ['ignore', 'pipe', 'ignore'] });
  running.push(server);
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`the stand-in did not start: ${text}`)), WAIT_MS);
    server.stdout.on('data', (chunk) => {
      text += chunk;
      const match = text.match(/^listening on (\S+)\n/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    server.on('error', reject);
  });
}

/** A loopback port that was free a moment ago. */
function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Takes events until one satisfies `predicate`, polling with short waits as a host's loop would. */
async function waitFor(source, predicate) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const event = await source.next(100);
    if (event && predicate(event)) return event;
  }
  return null;
}

/** How many threads of this process have a name starting with `prefix` (the library's are "pieces-…"). */
function libraryThreads(prefix) {
  let count = 0;
  for (const task of fs.readdirSync('/proc/self/task')) {
    try {
      if (fs.readFileSync(`/proc/self/task/${task}/comm`, 'utf8').startsWith(prefix)) count++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return count;
}

/** Resolves once `condition()` holds, checking every 20 ms; fails after WAIT_MS. */
async function eventually(condition, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `not within ${WAIT_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

module.exports = { WAIT_MS, eventually, freePort, libraryThreads, standIn, waitFor };
