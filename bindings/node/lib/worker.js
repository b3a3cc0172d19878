'use strict';
// A worker thread of offload.js: runs one blocking call at a time with native.invoke(), so that the
// call and the read of its last error happen on this same thread.

const { parentPort, workerData } = require('node:worker_threads');
const native = require('./native');

native.load(workerData.libraryPath);
parentPort.on('message', ({ id, name, args, out }) => {
  let reply;
  try {
    reply = { id, result: native.invoke(name, args, out) };
  } catch (error) {
    reply = { id, failure: String(error && error.stack ? error.stack : error) };
  }
  parentPort.postMessage(reply);
});
