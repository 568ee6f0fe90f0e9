// The local cloud is loopback only: this preload makes any other connection or DNS lookup a failure, so a client
// that quietly reaches for Google (the metadata server, a default endpoint) is caught where it happens.
//
// Loaded first by the demo, the sandbox, the functions it starts (NODE_OPTIONS) and the test setup. It patches
// net.Socket#connect (every TCP and TLS client underneath http, http2, fetch and gRPC) and the dns lookups.
// Mode (SPOKEFLEET_LOOPBACK_GUARD): `exit` (default) prints the call and exits 1; `throw` makes the call fail
// with an error and records it in `violations` (the test suite fails the test that caused it).
'use strict';

const net = require('node:net');
const dns = require('node:dns');

const violations = [];
const mode = () => process.env.SPOKEFLEET_LOOPBACK_GUARD || 'exit';

/** 127.0.0.0/8, ::1 (and their IPv4-mapped forms), or the name localhost. */
function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true; // Node's default host is localhost
  const h = String(host)
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function refuse(what) {
  const message = `loopback guard: ${what} refused — the local cloud is loopback only`;
  violations.push(message);
  if (mode() === 'exit') {
    process.stderr.write(`${message}\n${new Error('stack').stack.split('\n').slice(2, 8).join('\n')}\n`);
    process.exit(1);
  }
  const error = new Error(message);
  error.code = 'ELOOPBACKONLY';
  return error;
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  // net.connect passes [options, callback] normalised into one array.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  let port;
  if (typeof first === 'object' && first !== null) {
    if (first.path === undefined) {
      host = first.host;
      port = first.port;
    }
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    port = first;
    host = typeof args[1] === 'string' ? args[1] : undefined;
  }
  if (!isLoopback(host)) {
    const error = refuse(`connection to ${host}:${port}`);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};

function guardLookup(original, name) {
  return function guarded(hostname, ...rest) {
    if (isLoopback(hostname)) return original.call(this, hostname, ...rest);
    const error = refuse(`DNS ${name} of ${hostname}`);
    const callback = rest.find((a) => typeof a === 'function');
    if (callback) {
      process.nextTick(() => callback(error));
      return undefined;
    }
    return Promise.reject(error);
  };
}

for (const name of [
  'lookup',
  'resolve',
  'resolve4',
  'resolve6',
  'resolveAny',
  'resolveCname',
  'resolveSrv',
  'resolveTxt',
]) {
  if (typeof dns[name] === 'function') dns[name] = guardLookup(dns[name], name);
  if (typeof dns.promises[name] === 'function') dns.promises[name] = guardLookup(dns.promises[name], name);
  if (typeof dns.Resolver.prototype[name] === 'function')
    dns.Resolver.prototype[name] = guardLookup(dns.Resolver.prototype[name], name);
  if (typeof dns.promises.Resolver.prototype[name] === 'function')
    dns.promises.Resolver.prototype[name] = guardLookup(dns.promises.Resolver.prototype[name], name);
}

// Children (the functions under functions-framework) get the same guard.
const self = `--require=${__filename}`;
if (!(process.env.NODE_OPTIONS || '').includes(self))
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : ''}${self}`;

module.exports = { isLoopback, violations };
