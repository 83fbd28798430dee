import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BrowserCommand, browserCommand } from '../src/open-browser.ts';

// Both links photo-backup opens carry `&` in their query: a consent address and a picker session.
const CONSENT =
  'https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&scope=a%20b&redirect_uri=http%3A%2F%2F127.0.0.1%3A4321&state=x';
const PICKER = 'https://photos.google.com/picker/1a2b?x=1&y=(2)|^3';

const cases: {
  name: string;
  url: string;
  platform: NodeJS.Platform;
  expected: BrowserCommand | undefined;
}[] = [
  {
    name: 'Windows: the consent address in quotes after an empty title, passed verbatim',
    url: CONSENT,
    platform: 'win32',
    expected: {
      command: 'cmd',
      args: ['/d', '/c', 'start', '""', `"${CONSENT}"`],
      windowsVerbatimArguments: true,
    },
  },
  {
    name: 'Windows: a picker link with cmd metacharacters stays one quoted argument',
    url: PICKER,
    platform: 'win32',
    expected: {
      command: 'cmd',
      args: ['/d', '/c', 'start', '""', `"${PICKER}"`],
      windowsVerbatimArguments: true,
    },
  },
  {
    name: 'Windows: a quote or space in a link from Google is encoded, so it cannot end the quotes',
    url: 'https://photos.google.com/picker/a" & calc & "b',
    platform: 'win32',
    expected: {
      command: 'cmd',
      args: ['/d', '/c', 'start', '""', '"https://photos.google.com/picker/a%22%20&%20calc%20&%20%22b"'],
      windowsVerbatimArguments: true,
    },
  },
  {
    name: 'macOS: open with the link as one argument',
    url: CONSENT,
    platform: 'darwin',
    expected: { command: 'open', args: [CONSENT], windowsVerbatimArguments: false },
  },
  {
    name: 'Linux: xdg-open with the link as one argument',
    url: PICKER,
    platform: 'linux',
    expected: { command: 'xdg-open', args: [PICKER], windowsVerbatimArguments: false },
  },
  { name: 'not a link', url: 'calc.exe', platform: 'win32', expected: undefined },
  {
    name: 'not http(s)',
    url: 'file:///C:/Windows/System32/calc.exe',
    platform: 'win32',
    expected: undefined,
  },
];

for (const { name, url, platform, expected } of cases) {
  test(`browserCommand: ${name}`, () => {
    assert.deepEqual(browserCommand(url, platform), expected);
  });
}

test('browserCommand: on Windows nothing outside the quoted link holds a cmd metacharacter', () => {
  const command = browserCommand(PICKER, 'win32');
  assert.ok(command);
  const link = command.args.at(-1) ?? '';
  assert.match(link, /^"[^"]*"$/);
  for (const arg of command.args.slice(0, -1)) assert.doesNotMatch(arg, /[&|^<>()%]/);
});
