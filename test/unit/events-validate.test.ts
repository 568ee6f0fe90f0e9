import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PermanentError } from '../../shared/errors';
import {
  isClusterName,
  isDns1035Label,
  isDns1123Label,
  isLocation,
  isPlainObject,
  isProjectId,
  isTimestamp,
  maxJsonDepth,
  parseJsonObject,
} from '../../shared/events/validate';

describe('events/validate: names at their boundaries', () => {
  const table: Array<[string, (v: unknown) => boolean, unknown, boolean]> = [
    ['project id, 6 characters', isProjectId, 'acme-1', true],
    ['project id, 30 characters', isProjectId, `a${'b'.repeat(28)}c`, true],
    ['project id, 5 characters', isProjectId, 'acme1', false],
    ['project id, 31 characters', isProjectId, `a${'b'.repeat(29)}c`, false],
    ['project id ending in a hyphen', isProjectId, 'acme-spokes-', false],
    ['project id starting with a digit', isProjectId, '1acme-spokes', false],
    ['domain-scoped project id', isProjectId, 'example.com:acme', false],
    ['project id as a number', isProjectId, 123456, false],
    ['region', isLocation, 'us-east4', true],
    ['zone', isLocation, 'europe-west1-b', true],
    ['multi-region word', isLocation, 'global', false],
    ['zone with two letters', isLocation, 'us-east4-ab', false],
    ['location with a trailing newline', isLocation, 'us-east4\n', false],
    ['location, 63 characters', isLocation, `${'a'.repeat(57)}-east4`, true],
    ['location, 64 characters', isLocation, `${'a'.repeat(58)}-east4`, false],
    // An array's string form would match the pattern: only strings are names.
    ['location as an array', isLocation, ['us-east4'], false],
    ['cluster name as an array', isClusterName, ['gke-1'], false],
    ['cluster name, 1 letter', isClusterName, 'c', true],
    ['cluster name, 40 characters', isClusterName, `g${'k'.repeat(39)}`, true],
    ['cluster name, 41 characters', isClusterName, `g${'k'.repeat(40)}`, false],
    ['cluster name starting with a digit', isClusterName, '1gke', false],
    ['cluster name with upper case', isClusterName, 'Gke-1', false],
    ['cluster name ending in a hyphen', isClusterName, 'gke-', false],
    ['DNS-1123 label starting with a digit', isDns1123Label, '1-ns', true],
    ['DNS-1123 label, 63 characters', isDns1123Label, 'n'.repeat(63), true],
    ['DNS-1123 label, 64 characters', isDns1123Label, 'n'.repeat(64), false],
    ['DNS-1123 label with a dot', isDns1123Label, 'mcs.common', false],
    ['DNS-1123 label, empty', isDns1123Label, '', false],
    ['DNS-1035 label', isDns1035Label, 'nginx-1', true],
    ['DNS-1035 label starting with a digit', isDns1035Label, '1nginx', false],
    ['DNS-1035 label, 63 characters', isDns1035Label, 'n'.repeat(63), true],
    ['DNS-1035 label, 64 characters', isDns1035Label, 'n'.repeat(64), false],
    ['DNS-1035 label with a Cyrillic letter', isDns1035Label, 'ngin\u0445', false],
    ['timestamp with nanoseconds', isTimestamp, '2024-09-13T01:37:13.987956868Z', true],
    ['timestamp with an offset', isTimestamp, '2024-09-13T01:37:13+02:00', true],
    ['timestamp with a space', isTimestamp, '2024-09-13 01:37:13Z', false],
    ['timestamp on 30 February', isTimestamp, '2024-02-30T99:00:00Z', false],
    ['timestamp as an array', isTimestamp, ['2024-09-13T01:37:13Z'], false],
  ];
  for (const [name, check, value, expected] of table) {
    it(`${name}: ${expected ? 'valid' : 'invalid'}`, () => {
      assert.equal(check(value), expected);
    });
  }
});

describe('events/validate: maxJsonDepth', () => {
  const table: Array<[string, number]> = [
    ['1', 0],
    ['{}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[[["}', 1],
    ['[[],[[]],[]]', 3],
  ];
  for (const [text, depth] of table) {
    it(`${text} → ${depth}`, () => {
      assert.equal(maxJsonDepth(text), depth);
    });
  }

  it('agrees with a recursive count on random JSON', () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.jsonValue(), (v) => maxJsonDepth(JSON.stringify(v)) === depthOf(v)),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('events/validate: isPlainObject', () => {
  const table: Array<[string, unknown, boolean]> = [
    ['an object literal', { a: 1 }, true],
    ['an object without a prototype', Object.create(null), true],
    ['null', null, false],
    ['an array', [], false],
    ['a Date', new Date(0), false],
    ['a Buffer', Buffer.from('{}'), false],
    ['a string', '{}', false],
  ];
  for (const [name, value, expected] of table) {
    it(`${name}: ${expected}`, () => {
      assert.equal(isPlainObject(value), expected);
    });
  }
});

describe('events/validate: parseJsonObject at its limits', () => {
  const limits = { maxBytes: 16, maxDepth: 3, what: 'test input' };
  const refusal = (reason: string, says: string) => (error: unknown) => {
    assert.ok(error instanceof PermanentError, `expected a PermanentError, got ${error}`);
    assert.equal(error.reason, reason);
    assert.ok(error.message.includes(says), `${error.message} does not say ${says}`);
    return true;
  };

  it('only bytes', () => {
    assert.throws(
      () => parseJsonObject('{}' as unknown as Buffer, limits),
      refusal('not-bytes', 'test input is not bytes'),
    );
  });

  it('maxBytes is accepted, one byte more is not', () => {
    const at = Buffer.from('{"a":"0123456"}'.padEnd(16, ' '));
    assert.equal(at.length, 16);
    assert.deepStrictEqual(parseJsonObject(at, limits), { a: '0123456' });
    assert.throws(
      () => parseJsonObject(Buffer.concat([at, Buffer.from(' ')]), limits),
      refusal('payload-too-large', 'test input is 17 bytes, more than the 16 accepted'),
    );
  });

  it('maxDepth is accepted, one level more is not', () => {
    assert.deepStrictEqual(parseJsonObject(Buffer.from('{"a":[{}]}'), limits), { a: [{}] });
    assert.throws(
      () => parseJsonObject(Buffer.from('{"a":[[{}]]}'), limits),
      refusal('too-deep', 'test input nests deeper than 3 levels'),
    );
  });
});
