/**
 * docs/events.md documents every --json event type and field: the list is read from the code's
 * own union (src/report/events.ts), so a new event or field without its row fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const source = readFileSync(new URL('../../src/report/events.ts', import.meta.url), 'utf8');
const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');

/** Each member of the BackupEvent union: its type and its field names. */
function eventTypes(): Map<string, string[]> {
  const union = source.slice(
    source.indexOf('export type BackupEvent ='),
    source.indexOf('export type Report'),
  );
  const types = new Map<string, string[]>();
  for (const match of union.matchAll(/\{\s*type: '([\w-]+)';([^}]*)\}/g)) {
    const [, type, rest] = match as unknown as [string, string, string];
    types.set(
      type,
      [...rest.matchAll(/(\w+)\??:/g)].map((field) => field[1] as string),
    );
  }
  return types;
}

function summaryFields(): string[] {
  const body = source.slice(source.indexOf('export interface BackupSummary'));
  const end = body.indexOf('\n}');
  return [...body.slice(0, end).matchAll(/^ {2}(\w+)\??:/gm)].map((field) => field[1] as string);
}

/** The doc's text from `heading` to the next heading of that level or higher. */
function section(heading: string): string | undefined {
  const start = doc.indexOf(`${heading}\n`);
  if (start < 0) return undefined;
  const rest = doc.slice(start + heading.length);
  const next = rest.search(/\n#{2,3} /);
  return next < 0 ? rest : rest.slice(0, next);
}

test('the union is read: it has the events a run is known to emit', () => {
  const types = eventTypes();
  for (const type of ['start', 'saved', 'failed', 'not-yet', 'link', 'summary'])
    assert.ok(types.has(type), type);
  assert.deepEqual(types.get('start'), ['schemaVersion', 'source', 'year', 'folder', 'dryRun']);
  assert.ok(summaryFields().includes('unavailable'));
});

for (const [type, fields] of eventTypes()) {
  test(`docs/events.md documents the "${type}" event and each of its fields`, () => {
    const text = section(`### \`${type}\``);
    assert.ok(text, `no "### \`${type}\`" section`);
    for (const field of fields) assert.ok(text.includes(`| \`${field}\` |`), `${type}.${field} has no row`);
  });
}

test('docs/events.md documents every field of the summary', () => {
  const text = section('## The summary');
  assert.ok(text);
  for (const field of summaryFields())
    assert.ok(text.includes(`| \`${field}\` |`), `summary.${field} has no row`);
});
