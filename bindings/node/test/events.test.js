'use strict';
// Pull-mode events: the identifier stream and the mirror, against the stand-in.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Client, PiecesError, Status } = require('..');
const { WAIT_MS, eventually, libraryThreads, standIn, waitFor } = require('./helpers');

const mentions = (event, id, deleted = false) =>
  event.type === 'identifiers' &&
  event.data.data.iterable.some((item) => item.conversationMessage?.id === id && Boolean(item.deleted) === deleted);

test('the identifier stream: order, changes, stop, nothing after the terminal event', async () => {
  const client = new Client(await standIn('--seed', '5'));
  const subscription = client.subscribe();
  const first = await subscription.next(WAIT_MS);
  assert.equal(first.type, 'connected');
  const full = await waitFor(subscription, (event) => event.type === 'identifiers');
  assert.equal(full.data.full, true);
  assert.equal(full.data.data.iterable.length, 5);

  const created = await client.create('node-stream', 'on the stream');
  assert.ok(await waitFor(subscription, (event) => mentions(event, created.id)));
  await client.delete(created.id);
  assert.ok(await waitFor(subscription, (event) => mentions(event, created.id, true)));

  assert.deepEqual(subscription.poll(), []);
  subscription.stop();
  const closed = await waitFor(subscription, (event) => event.terminal);
  assert.equal(closed.type, 'closed');
  assert.ok(subscription.finished);
  assert.equal(subscription.nextSync(0), null);
  assert.equal(await subscription.next(0), null);
  subscription.close();
  assert.throws(() => subscription.nextSync(), /closed/);
  client.close();
});

test('the mirror announces the messages, then every change, and reads them back', async () => {
  const client = new Client(await standIn('--seed', '5'));
  const mirror = client.mirror();
  const initial = [];
  const synced = await waitFor(mirror, (event) => initial.push(event) && event.type === 'synced');
  assert.equal(synced.count, 5);
  assert.deepEqual(initial.map((event) => event.type), ['added', 'added', 'added', 'added', 'added', 'synced']);
  assert.deepEqual(mirror.messages().map((message) => message.id), initial.slice(0, 5).map((event) => event.message.id));

  const created = await client.create('node-mirror', 'Hello from the Node mirror');
  const added = await waitFor(mirror, (event) => event.type === 'added');
  assert.equal(added.message.text, 'Hello from the Node mirror');
  assert.equal(added.id, created.id);
  assert.equal(mirror.get(created.id).json, added.message.json);
  assert.deepEqual(mirror.messages('node-mirror').map((message) => message.id), [created.id]);
  assert.deepEqual(mirror.messages('no-such-conversation'), []);

  client.updateSync({ ...created.data, fragment: { string: { raw: 'edited' } } });
  const updated = await waitFor(mirror, (event) => event.type === 'updated');
  assert.equal(updated.message.text, 'edited');
  assert.equal(mirror.get(created.id).text, 'edited');

  await client.delete(created.id);
  const removed = await waitFor(mirror, (event) => event.type === 'removed');
  assert.equal(removed.id, created.id);
  assert.equal(mirror.get(created.id), null);

  mirror.stop();
  const rest = [];
  for await (const event of mirror) rest.push(event.type);
  assert.equal(rest.at(-1), 'closed');
  assert.equal(rest.filter((type) => type === 'closed').length, 1);
  assert.ok(mirror.finished);
  assert.equal(mirror.messages().length, 5, 'readable until closed');
  mirror.close();
  client.close();
});

test('mirror options: announce_initial false starts with synced; bad options are refused', async () => {
  const client = new Client(await standIn('--seed', '5'));
  const mirror = client.mirror({ announce_initial: false, transferables: false });
  const first = await mirror.next(WAIT_MS);
  assert.equal(first.type, 'synced');
  assert.equal(first.count, 5);
  assert.ok(mirror.messages().every((message) => message.text === null));
  mirror.close();
  assert.throws(() => client.mirror({ stale_after: 0 }), (error) => error instanceof PiecesError && error.status === Status.INVALID_ARGUMENT);
  assert.throws(() => client.mirror({ no_such_option: true }), (error) => error instanceof PiecesError && error.status === Status.INVALID_JSON);
  client.close();
});

test('a timer can poll without waiting, and next(ms) gives up in time', async () => {
  const client = new Client(await standIn('--seed', '2'));
  const mirror = client.mirror({ announce_initial: false });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      try {
        for (const event of mirror.poll()) seen.push(event.type);
        if (seen.includes('synced')) {
          clearInterval(timer);
          resolve();
        }
      } catch (error) {
        clearInterval(timer);
        reject(error);
      }
    }, 20);
  });
  assert.deepEqual(seen, ['synced']);
  const started = Date.now();
  assert.equal(await mirror.next(300), null);
  const waited = Date.now() - started;
  assert.ok(waited >= 250 && waited < 10000, `waited ${waited} ms`);
  mirror.close();
  client.close();
});

test('closing a mirror ends a pending wait and its thread', async () => {
  const client = new Client(await standIn('--seed', '2'));
  const before = libraryThreads('pieces-mirror');
  const mirror = client.mirror({ announce_initial: false });
  assert.equal((await mirror.next(WAIT_MS)).type, 'synced');
  assert.equal(libraryThreads('pieces-mirror'), before + 1);
  const pending = mirror.next(-1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  mirror.close();
  const last = await pending;
  assert.ok(last === null || last.type === 'closed');
  await eventually(() => libraryThreads('pieces-mirror') === before, 'the mirror thread ended');
  assert.throws(() => mirror.poll(), /closed/);
  client.close();
});

test('the garbage collector frees a forgotten mirror', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const client = new Client(await standIn('--seed', '2'));
  const before = libraryThreads('pieces-mirror');
  await (async () => {
    const forgotten = client.mirror({ announce_initial: false });
    assert.equal((await forgotten.next(WAIT_MS)).type, 'synced');
  })();
  assert.equal(libraryThreads('pieces-mirror'), before + 1);
  await eventually(() => {
    gc();
    return libraryThreads('pieces-mirror') === before;
  }, 'the collected mirror was freed');
  client.close();
});
