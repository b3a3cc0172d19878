#!/usr/bin/env node
// A message panel, as a VS Code extension would keep one: the current messages, then each change.
//
// It uses the pieces-messages module (bindings/node) and its mirror in pull mode: the library keeps every
// message current on a thread of its own, and a timer of this program takes the changes, the way an
// extension's would; the library never calls into JavaScript.
//
//     npm ci --prefix bindings/node
//     PIECES_OS_CLIENT_LIBRARY=path/to/libpieces_os_client.so node examples/node/message_panel.js [URL] [--seconds N]
//
// Without a URL it finds PiecesOS on 127.0.0.1 by itself.
'use strict';

const { Client, PiecesError } = require('../../bindings/node'); // in a plugin: require('pieces-messages')

const args = process.argv.slice(2);
const secondsAt = args.indexOf('--seconds');
const seconds = secondsAt >= 0 ? Number(args.splice(secondsAt, 2)[1]) : null;
const url = args[0];

const line = (message) => `[${message.role}] ${(message.text ?? '').replace(/\s+/g, ' ').slice(0, 72)}`;

function show(mirror, event) {
  switch (event.type) {
    case 'synced':
      console.log(`${event.count} messages`);
      for (const message of mirror.messages()) console.log(`  ${line(message)}`);
      break;
    case 'added':
      console.log(`+ ${line(event.message)}`);
      break;
    case 'updated':
      console.log(`~ ${line(event.message)}`);
      break;
    case 'removed':
      console.log(`- ${event.id}`);
      break;
    case 'stale':
    case 'disconnected':
    case 'error':
      console.log(`! ${event.type}: ${event.error?.message}`);
      break;
  }
}

async function main() {
  const client = new Client(url ? { base_url: url, application_id: 'node-message-panel' } : { application_id: 'node-message-panel' });
  console.log(`PiecesOS ${await client.checkVersion()} at ${await client.baseUrl()}`);
  const mirror = client.mirror({ announce_initial: false });
  const timer = setInterval(() => {
    for (const event of mirror.poll()) show(mirror, event); // never waits: the event loop stays free
  }, 100);
  const stop = () => {
    clearInterval(timer);
    mirror.close();
    client.close();
  };
  process.once('SIGINT', stop);
  if (seconds !== null) setTimeout(stop, seconds * 1000);
}

main().catch((error) => {
  console.error(error instanceof PiecesError && error.code === 'NOT_RUNNING'
    ? 'PiecesOS is not running: start it, or give its URL'
    : `error: ${error.message}`);
  process.exitCode = 1;
});
