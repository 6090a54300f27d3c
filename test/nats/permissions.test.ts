// A template value must never widen a permission, whatever a token or request puts in it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  escapeSubjectValue,
  expandPermissions,
  expandSubject,
  PermissionTemplateError,
  subjectProblem,
  validateTemplate,
} from '../../src/nats/permissions.js';

const base = { pool: 'default', node: 17, subject: 'svc-a', issuer: 'corp', instance: 'pod-1' };

/** NATS subject matching, as the server does it: `*` one token, `>` one or more at the end. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

describe('permission templates', () => {
  it('expands the contract templates', () => {
    assert.deepEqual(expandPermissions(['ids.{pool}.{node}.>'], base), ['ids.default.17.>']);
    assert.deepEqual(expandPermissions(['ids.{pool}.>', '_INBOX.>'], base), ['ids.default.>', '_INBOX.>']);
    assert.equal(expandSubject('svc.{issuer}.{subject}.{instance}', base), 'svc.corp.svc-a.pod-1');
    assert.equal(expandSubject('n{node}x.*', base), 'n17x.*');
  });

  it('escapes every subject-unsafe character, and the escape character itself', () => {
    assert.equal(escapeSubjectValue('a.b'), 'a_2eb');
    assert.equal(escapeSubjectValue('*'), '_2a');
    assert.equal(escapeSubjectValue('>'), '_3e');
    assert.equal(escapeSubjectValue('a b\tc\r\n'), 'a_20b_09c_0d_0a');
    assert.equal(escapeSubjectValue('a_2eb'), 'a_5f2eb');
    assert.equal(escapeSubjectValue('$SYS'), '_24SYS');
    assert.equal(escapeSubjectValue('é'), '_c3_a9');
    assert.equal(escapeSubjectValue('system:serviceaccount:ns:sa'), 'system_3aserviceaccount_3ans_3asa');
    assert.equal(escapeSubjectValue('Az09-'), 'Az09-');
  });

  it('keeps a hostile subject inside its own token', () => {
    const evil = { ...base, subject: 'x.>' };
    assert.equal(expandSubject('svc.{subject}.>', evil), 'svc.x_2e_3e.>');
    assert.equal(expandSubject('svc.{subject}', { ...base, subject: '*' }), 'svc._2a');
    assert.equal(expandSubject('svc.{instance}.in', { ...base, instance: 'a b' }), 'svc.a_20b.in');
  });

  it('refuses a template that ends up with an empty token', () => {
    assert.throws(() => expandSubject('ids.{instance}.x', { ...base, instance: '' }), PermissionTemplateError);
    assert.throws(() => expandSubject('{instance}', { ...base, instance: '' }), PermissionTemplateError);
    assert.throws(() => expandSubject('ids..{node}', base), PermissionTemplateError);
    assert.throws(() => expandSubject('ids.{node}.', base), PermissionTemplateError);
    // Part of a token may be empty as long as the token is not.
    assert.equal(expandSubject('ids.n{instance}', { ...base, instance: '' }), 'ids.n');
  });

  it('refuses unknown placeholders, stray braces and invalid subjects', () => {
    assert.throws(() => validateTemplate('ids.{nod}.>'), /unknown placeholder \{nod\}/);
    assert.throws(() => validateTemplate('ids.{pool.>'), PermissionTemplateError);
    assert.throws(() => validateTemplate('ids.pool}.>'), PermissionTemplateError);
    assert.throws(() => validateTemplate('ids.>.x'), PermissionTemplateError);
    assert.throws(() => validateTemplate('ids.a*'), PermissionTemplateError);
    assert.throws(() => validateTemplate('ids. a'), PermissionTemplateError);
    assert.throws(() => validateTemplate(''), PermissionTemplateError);
    validateTemplate('ids.{pool}.{node}.>');
    validateTemplate('_INBOX.>');
    validateTemplate('*.{pool}.*');
  });

  it('leaves out a template whose variable has no value (narrowing, never widening)', () => {
    const noInstance = { pool: 'default', node: 3, subject: 's', issuer: 'i' };
    assert.equal(expandSubject('x.{instance}', noInstance), undefined);
    assert.deepEqual(expandPermissions(['x.{instance}.>', 'ids.{pool}.{node}.>'], noInstance), ['ids.default.3.>']);
  });

  it('property: escaped values are injective and subject-safe', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const ea = escapeSubjectValue(a);
        assert.match(ea, /^[A-Za-z0-9_-]*$/);
        if (a !== b) assert.notEqual(ea, escapeSubjectValue(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: whatever the values, an expansion matches only subjects of its own node', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1 }),
      fc.constantFrom('>', '*', '.', 'a.b', ' ', '$SYS', '_2e', '..', 'a>', '*.>'),
    );
    fc.assert(
      fc.property(value, value, value, fc.nat(1023), (subject, issuer, instance, node) => {
        const values = { pool: 'default', node, subject, issuer, instance };
        for (const t of ['ids.{pool}.{node}.>', 'svc.{issuer}.{subject}.{instance}.*', 'p.{subject}-{instance}']) {
          const s = expandSubject(t, values);
          assert.ok(s !== undefined);
          assert.equal(subjectProblem(s), undefined, s);
          // Same token count and wildcards as the template: values added none.
          assert.equal(s.split('.').length, t.split('.').length, s);
          assert.equal((s.match(/[*>]/g) ?? []).length, (t.match(/[*>]/g) ?? []).length, s);
        }
        const mine = expandSubject('ids.{pool}.{node}.>', values) ?? '';
        assert.equal(matches(mine, `ids.default.${node}.x`), true);
        assert.equal(matches(mine, `ids.default.${(node + 1) % 1024}.x`), false);
        const svc = expandSubject('svc.{issuer}.{subject}.{instance}.*', values) ?? '';
        assert.equal(
          matches(svc, 'svc.corp.other.pod.x'),
          subject === 'other' && issuer === 'corp' && instance === 'pod',
        );
      }),
      { numRuns: 2000 },
    );
  });
});
