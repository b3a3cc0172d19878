'use strict';
// The client's requests, in both forms, and their errors, against the stand-in.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const pieces = require('..');
const { Client, Message, PiecesError, Status, Transferables } = pieces;
const { freePort, standIn } = require('./helpers');

const isPiecesError = (status, check = () => true) => (error) =>
  error instanceof PiecesError && error.status === status && check(error) !== false;

test('the version is the crate version, of the module ABI line, from the library named or beside the module', () => {
  const cargo = fs.readFileSync(path.join(__dirname, '../../../Cargo.toml'), 'utf8').match(/^version = "([^"]+)"/m);
  assert.equal(pieces.version(), cargo[1]);
  assert.match(pieces.version(), /^\d+\.\d+\.\d+$/);
  assert.ok(pieces.version().startsWith(`${pieces.ABI_LINE}.`));
  const named = process.env[pieces.LIBRARY_ENV];
  assert.equal(pieces.libraryPath(), named || path.join(__dirname, '..', 'libpieces_os_client.so'));
});

test('create, get, snapshot, search, update and delete, as promises and as they are', async () => {
  const url = await standIn('--seed', '5');
  const client = new Client({ base_url: url, application_id: 'node-tests' });
  assert.equal(await client.baseUrl(), url);
  assert.equal(client.baseUrlSync(), url);
  assert.ok((await client.checkVersion()).length > 0);
  assert.equal((await client.snapshot()).length, 5);

  const created = await client.create('node-conversation', 'a node plugin was here', 'ASSISTANT');
  assert.ok(created instanceof Message);
  assert.deepEqual([created.text, created.role, created.conversationId], ['a node plugin was here', 'ASSISTANT', 'node-conversation']);
  assert.deepEqual(client.getSync(created.id).data, created.data);

  const light = client.snapshotSync(Transferables.EXCLUDE);
  assert.equal(light.length, 6);
  assert.equal(light.find((message) => message.id === created.id).text, null);

  const hits = await client.search('node plugin');
  assert.ok(hits.some((hit) => hit.id === created.id));
  assert.ok(client.searchSync('node plugin').some((hit) => hit.id === created.id));

  const changed = { ...created.data, fragment: { string: { raw: 'changed by node' } }, x_unknown_key: { kept: [1, 2] } };
  assert.equal((await client.update(changed)).text, 'changed by node');
  assert.equal(client.updateSync(client.getSync(created.id)).text, 'changed by node');

  const seeded = client.createFromSeedSync('{"role":"USER","conversation":{"id":"seeded"},"fragment":{"string":{"raw":"from text"}}}');
  assert.equal(seeded.conversationId, 'seeded');
  client.deleteSync(seeded.id);

  await client.delete(created.id);
  await assert.rejects(client.get(created.id), isPiecesError(Status.NOT_FOUND, (error) => {
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.detail.status, 410);
    assert.equal(error.detail.id, created.id);
  }));
  client.close();
  client.close();
  assert.throws(() => client.snapshotSync(), /closed/);
  await assert.rejects(client.snapshot(), /closed/);
});

test('deleting twice is HTTP 500, with the status and body in the error', async () => {
  const client = new Client(await standIn('--seed', '1'));
  const created = client.createSync('c', 'short-lived');
  await client.delete(created.id);
  const check = (error) => {
    assert.equal(error.kind, 'http_status');
    assert.equal(error.detail.status, 500);
    assert.ok(error.detail.body.includes(created.id));
    assert.equal(error.fn, 'pieces_messages_delete');
    assert.deepEqual(JSON.parse(error.json), error.detail);
  };
  await assert.rejects(client.delete(created.id), isPiecesError(Status.HTTP_STATUS, check));
  assert.throws(() => client.deleteSync(created.id), isPiecesError(Status.HTTP_STATUS, check));
  client.close();
});

test('failing, refused and missing servers are precise errors', async () => {
  const failing = new Client(await standIn('--fail-every', '1'));
  await assert.rejects(failing.snapshot(), isPiecesError(Status.HTTP_STATUS, (error) => error.detail.status === 500));
  const refused = new Client(`http://127.0.0.1:${await freePort()}`);
  await assert.rejects(refused.snapshot(), isPiecesError(Status.CONNECTION, (error) => error.kind === 'connection'));
  const port = await freePort();
  const nowhere = new Client({ discovery: { ports: `${port}-${port}`, use_environment: false } });
  await assert.rejects(nowhere.baseUrl(), isPiecesError(Status.NOT_RUNNING, (error) => error.detail.scanned === `${port}-${port}`));
  for (const client of [failing, refused, nowhere]) client.close();
});

test('without a URL the client discovers the stand-in', async () => {
  const url = await standIn('--seed', '5');
  const port = url.split(':').pop();
  const client = new Client({ discovery: { ports: `${port}-${port}`, use_environment: false } });
  assert.equal(await client.baseUrl(), url);
  assert.equal((await client.snapshot()).length, 5);
  client.close();
});

test('bad configuration and input are refused before anything is sent', async () => {
  const url = await standIn('--seed', '5');
  assert.throws(() => new Client({ base_url: url, no_such_key: 1 }),
    isPiecesError(Status.INVALID_JSON, (error) => error.detail.line > 0 && error.detail.column > 0));
  assert.throws(() => new Client('ftp://127.0.0.1:1'), isPiecesError(Status.INVALID_ARGUMENT, (error) => Boolean(error.detail.argument)));
  const client = new Client(url);
  await assert.rejects(client.createFromSeed('{not json'), isPiecesError(Status.INVALID_JSON));
  await assert.rejects(client.get(''), isPiecesError(Status.INVALID_ARGUMENT));
  assert.throws(() => client.snapshotSync(7), isPiecesError(Status.INVALID_ARGUMENT));
  assert.throws(() => client.getSync('a\0b'), TypeError);
  assert.equal(client.snapshotSync().length, 5);
  client.close();
});

test('each promise carries the last error of its own call, read on the thread that made it', async () => {
  const url = await standIn('--seed', '1');
  const live = new Client(url);
  const refused = new Client(`http://127.0.0.1:${await freePort()}`);
  const calls = [];
  for (let i = 0; i < 24; i++) {
    calls.push(live.get(`missing-${i}`).then(() => 'no error', (error) => `${error.kind} ${error.detail.id ?? ''}`));
    calls.push(refused.snapshot().then(() => 'no error', (error) => error.kind));
    // A failing call on the main thread in between changes only the main thread's last error.
    assert.throws(() => live.getSync(''), isPiecesError(Status.INVALID_ARGUMENT));
  }
  const outcomes = await Promise.all(calls);
  outcomes.forEach((outcome, index) => {
    const expected = index % 2 === 0 ? `not_found missing-${index / 2}` : 'connection';
    assert.equal(outcome, expected);
  });
  live.close();
  refused.close();
});

test('a promise leaves the main thread free, and closing waits for the calls under way', async () => {
  const client = new Client(await standIn('--seed', '3', '--delay-ms', '400'));
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 20);
  const started = Date.now();
  const pending = client.snapshot();
  client.close(); // the free waits for the snapshot's call to return
  const messages = await pending;
  clearInterval(ticker);
  assert.equal(messages.length, 3);
  assert.ok(Date.now() - started >= 350, 'the delayed answer was awaited');
  assert.ok(ticks >= 5, `the main thread ran timers meanwhile (${ticks} ticks)`);
  assert.throws(() => client.snapshotSync(), /closed/);
});
