import assert from 'node:assert/strict';
import { isDns1123Label, isProjectId } from '../../shared/validators';

describe('validators: the name rules configuration, events and derived names share', () => {
  it('DNS-1123 label: 1–63 lowercase letters, digits and inner hyphens, ASCII only', () => {
    for (const ok of ['a', '0', 'mcs-common', 'a'.repeat(63), '1abc']) assert.ok(isDns1123Label(ok), ok);
    for (const bad of ['', 'a'.repeat(64), '-a', 'a-', 'A', 'a_b', 'a.b', 'm\u0441s', 42, undefined])
      assert.equal(isDns1123Label(bad), false, String(bad));
  });

  it('project id: 6–30 characters, starts with a letter, ends with a letter or digit', () => {
    for (const ok of ['abcdef', `a${'b'.repeat(29)}`, 'spoke-prj-1']) assert.ok(isProjectId(ok), ok);
    for (const bad of [
      'abcde',
      `a${'b'.repeat(30)}`,
      '1abcdef',
      'abcdef-',
      'Abcdef',
      'spokefleet-d\uff45mo',
      null,
    ])
      assert.equal(isProjectId(bad), false, String(bad));
  });
});
