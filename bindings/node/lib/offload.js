'use strict';
// Blocking calls off the main thread, as promises.
//
// Why worker threads of our own rather than koffi's `.async()` calls: koffi runs those on libuv's shared
// thread pool, and a failed call's detail is pieces_last_error_json(), which is thread-local; a second
// async call to read it may run on another pool thread and see another call's error, or none. A worker
// here runs the call and reads its last error in one step (native.invoke), on one thread.
//
// Each worker runs one call at a time, since a call blocks its thread; a call that finds no idle worker
// starts one (a few tens of milliseconds, once), so a long wait never holds up another call. Idle
// workers are kept for reuse (at most MAX_IDLE) and unreferenced, so they never keep the process alive;
// a busy one does, like any pending I/O.

const path = require('node:path');
const { Worker } = require('node:worker_threads');

const MAX_IDLE = 4;
const idle = [];
let nextId = 1;

function startWorker(libraryPath) {
  const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: { libraryPath } });
  worker.pending = null;
  const fail = (error) => {
    const pending = worker.pending;
    worker.pending = null;
    const index = idle.indexOf(worker);
    if (index >= 0) idle.splice(index, 1);
    if (pending) pending.reject(error);
  };
  worker.on('message', (reply) => {
    const pending = worker.pending;
    worker.pending = null;
    worker.unref();
    if (idle.length < MAX_IDLE) idle.push(worker);
    else worker.terminate();
    if (!pending) return;
    if (reply.failure) pending.reject(new Error(`pieces_messages worker: ${reply.failure}`));
    else pending.resolve(reply.result);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`pieces_messages worker exited with code ${code}`)));
  return worker;
}

/** Runs native.invoke(name, args, out) on a worker thread; resolves to its result. */
function offload(libraryPath, name, args, out) {
  const worker = idle.pop() ?? startWorker(libraryPath);
  worker.ref();
  return new Promise((resolve, reject) => {
    worker.pending = { resolve, reject };
    worker.postMessage({ id: nextId++, name, args, out });
  });
}

module.exports = { offload };
