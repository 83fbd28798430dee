import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RedirectAnswer, readPastedAddress, readRedirect } from '../../src/auth/consent.ts';

const STATE = 'aB3-expected_state';

const redirectCases: { name: string; input: string; expected: RedirectAnswer | RegExp }[] = [
  {
    name: 'code with the matching state',
    input: `state=${STATE}&code=4/0Acode&scope=x`,
    expected: { kind: 'code', code: '4/0Acode' },
  },
  { name: 'wrong state', input: 'state=someone-else&code=4/0Acode', expected: /state does not match/ },
  {
    name: 'state differing only in length',
    input: `state=${STATE}x&code=4/0Acode`,
    expected: /state does not match/,
  },
  { name: 'no state', input: 'code=4/0Acode', expected: /state does not match/ },
  {
    name: 'access_denied',
    input: `state=${STATE}&error=access_denied`,
    expected: /not allowed on Google's consent page \(access_denied\)/,
  },
  {
    name: 'access_denied with a wrong state is a state mismatch',
    input: 'state=x&error=access_denied',
    expected: /state does not match/,
  },
  {
    name: 'another error code is named',
    input: `state=${STATE}&error=invalid_scope`,
    expected: /answered with an error \(invalid_scope\)/,
  },
  {
    name: 'an error that is free text is not repeated',
    input: `state=${STATE}&error=<script>`,
    expected: /answered with an error\. Run/,
  },
  { name: 'no code', input: `state=${STATE}`, expected: /carries no authorization code/ },
];
for (const { name, input, expected } of redirectCases) {
  test(`readRedirect: ${name}`, () => {
    const answer = readRedirect(new URLSearchParams(input), STATE);
    if (expected instanceof RegExp) {
      assert.equal(answer.kind, 'refused');
      assert.match(answer.kind === 'refused' ? answer.message : '', expected);
      assert.ok(!(answer.kind === 'refused' && answer.message.includes('4/0Acode')), 'never quotes the code');
    } else {
      assert.deepEqual(answer, expected);
    }
  });
}

const pasteCases: { name: string; input: string; expected: Record<string, string> | undefined }[] = [
  {
    name: 'the whole address',
    input: 'http://127.0.0.1:43123/?state=s&code=4/0Ac&scope=a+b',
    expected: { state: 's', code: '4/0Ac', scope: 'a b' },
  },
  {
    name: 'address without the slash, with spaces around',
    input: '  http://127.0.0.1:43123?code=c&state=s \n',
    expected: { code: 'c', state: 's' },
  },
  {
    name: 'address in quotes',
    input: '"http://127.0.0.1:1/?code=c&state=s"',
    expected: { code: 'c', state: 's' },
  },
  { name: 'only the query', input: '?code=c&state=s', expected: { code: 'c', state: 's' } },
  { name: 'query without the question mark', input: 'code=c&state=s', expected: { code: 'c', state: 's' } },
  {
    name: 'an error answer',
    input: 'http://127.0.0.1:1/?error=access_denied&state=s',
    expected: { error: 'access_denied', state: 's' },
  },
  {
    name: 'the consent address by mistake',
    input: 'https://accounts.google.com/o/oauth2/v2/auth?client_id=x&state=s',
    expected: undefined,
  },
  { name: 'empty', input: '   ', expected: undefined },
  { name: 'some words', input: 'I do not have a browser', expected: undefined },
];
for (const { name, input, expected } of pasteCases) {
  test(`readPastedAddress: ${name}`, () => {
    const query = readPastedAddress(input);
    assert.deepEqual(query === undefined ? undefined : Object.fromEntries(query), expected);
  });
}
