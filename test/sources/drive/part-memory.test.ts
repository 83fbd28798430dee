/**
 * The memory of finished parts for --source drive: the Drive identity as a table, then the built
 * CLI against the emulator's Drive, run again the way cron would. The emulator counts the
 * `alt=media` requests per file and the bytes it served: a finished, unchanged part is not asked
 * for at all; a part replaced in Drive, a new incremental export, or a saved file deleted from
 * the backup folder makes the run read exactly what it must.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { DRIVE_SCOPE } from '../../../src/auth/scopes.ts';
import { describeProcessedDriveExport, drivePartIdentity } from '../../../src/sources/drive/index.ts';
import { emulatorEnv, runCli, sha256, treeHashes, writeAccount } from '../../helpers/cli.ts';
import { buildZip } from '../../helpers/takeout-builder.ts';
import {
  type DriveExport,
  exportEntries,
  incrementalExports,
  putTakeoutExports,
  splitByBytes,
  type TakeoutExportSpec,
  takeoutTimestamp,
} from '../../support/emulator/drive-takeout.ts';
import { type DriveFile, type Emulator, startEmulator } from '../../support/emulator/index.ts';

const file = { id: 'drv1', size: 100, md5Checksum: 'aa', modifiedTime: '2026-01-01T00:00:00.000Z' };
const identityCases: { name: string; other: typeof file; same: boolean }[] = [
  { name: 'the same file', other: { ...file }, same: true },
  { name: 'another id (a new upload under the same name)', other: { ...file, id: 'drv2' }, same: false },
  { name: 'another size', other: { ...file, size: 101 }, same: false },
  { name: 'another md5Checksum (new bytes, same size)', other: { ...file, md5Checksum: 'bb' }, same: false },
  {
    name: 'another modifiedTime (a new revision of the same bytes)',
    other: { ...file, modifiedTime: '2026-01-02T00:00:00.000Z' },
    same: false,
  },
];
for (const { name, other, same } of identityCases) {
  test(`drivePartIdentity: ${name} is ${same ? 'the same part' : 'another part'}`, () => {
    const a = drivePartIdentity(file);
    const b = drivePartIdentity(other);
    assert.equal(a.key === b.key && a.size === b.size && a.version === b.version, same);
    assert.equal(a.key, 'drive:drv1');
  });
}

test('describeProcessedDriveExport names the export by its Drive files and says it may be deleted from Drive', () => {
  const three = describeProcessedDriveExport(
    {
      timestamp: '20250110T080000Z',
      parts: 3,
      names: [1, 2, 3].map((n) => `takeout-20250110T080000Z-00${n}.zip`),
      keys: [1, 2, 3].map((n) => `drive:f${n}`),
    },
    2024,
    'Takeout',
  );
  assert.match(
    three,
    /^Takeout export 20250110T080000Z in Google Drive \(takeout-20250110T080000Z-001\.zip … takeout-20250110T080000Z-003\.zip, 3 parts, folder "Takeout"\) is fully processed for 2024: you may delete it from Drive/,
  );
  const one = describeProcessedDriveExport(
    {
      timestamp: '20250110T080000Z',
      parts: 1,
      names: ['takeout-20250110T080000Z-001.zip'],
      keys: ['drive:f1'],
    },
    2024,
    'Takeout',
  );
  assert.match(one, /\(takeout-20250110T080000Z-001\.zip, folder "Takeout"\)/);
});

const PHOTO_BYTES = 300_000;
let dir: string;
let emulator: Emulator;
let specs: TakeoutExportSpec[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pb-drive-memory-'));
  emulator = await startEmulator({
    generate: {
      year: 2024,
      count: 8,
      videoEvery: 4,
      otherYear: 4,
      photoSize: PHOTO_BYTES,
      videoSize: 400_000,
    },
  });
  // A full export (the year before and the first of 2024), then an incremental one (the rest).
  specs = incrementalExports(emulator.items, 2, new Date('2025-01-10T08:00:00Z'));
  await writeAccount(emulator, dir, { scopes: [DRIVE_SCOPE] });
});
afterEach(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

/** Parts no bigger than one photo: each sidecar lands in the part after its photo's. */
const put = (which: TakeoutExportSpec[]) => putTakeoutExports(emulator, which, { partBytes: PHOTO_BYTES });

/** A later export delivered into the same Drive folder, as a scheduled Takeout does. */
function deliver(folderId: string, spec: TakeoutExportSpec): DriveExport {
  const timestamp = takeoutTimestamp(spec.time);
  const entries = exportEntries(spec.items);
  const parts = splitByBytes(entries, PHOTO_BYTES).map((partEntries, index) =>
    emulator.drive.add({
      name: `takeout-${timestamp}-${String(index + 1).padStart(3, '0')}.zip`,
      mimeType: 'application/x-zip-compressed',
      parents: [folderId],
      content: buildZip(partEntries),
      createdTime: spec.time.toISOString(),
    }),
  );
  return { timestamp, parts, entries };
}

const run = (args: string[] = []) =>
  runCli(['2024', 'out', '--source', 'drive', ...args], { cwd: dir, env: emulatorEnv(emulator) });
const output = (result: { stdout: string; stderr: string }) => result.stdout + result.stderr;
/** The Drive files whose bytes the run asked for (any `alt=media` request). */
const filesRead = () => Object.keys(emulator.stats.driveMediaRequests).sort();
const ids = (parts: readonly DriveFile[]) => parts.map((part) => part.id).sort();
const yearHashes = () =>
  emulator.items
    .filter((item) => item.creationTime.startsWith('2024'))
    .map((item) => sha256(emulator.contentOf(item.id)))
    .sort();
const savedMedia = async () =>
  [...(await treeHashes(path.join(dir, 'out')))].filter(([name]) => !/\.(json|xmp)$/.test(name));

test('a rerun over unchanged exports asks Drive for no byte: the listing alone; each export is named safe to delete from Drive', async () => {
  const { exports } = put(specs);
  const first = await run();
  assert.equal(first.code, 0, output(first));
  assert.deepEqual((await savedMedia()).map(([, hash]) => hash).sort(), yearHashes());
  // Every part was read and finished: the memory holds each by its Drive identity.
  const lines = (await readFile(path.join(dir, 'out', '.photo-backup', 'takeout-parts.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { key: string; size: number; version: string; name: string });
  const allParts = exports.flatMap((found) => found.parts);
  assert.deepEqual(lines.map((line) => line.key).sort(), allParts.map((part) => `drive:${part.id}`).sort());
  for (const part of allParts) {
    const line = lines.find((entry) => entry.key === `drive:${part.id}`);
    assert.equal(line?.size, part.content?.length);
    assert.match(
      line?.version ?? '',
      new RegExp(`^[0-9a-f]{32}@${part.modifiedTime.replace(/\./g, '\\.')}$`),
    );
    assert.equal(line?.name, part.name);
  }

  emulator.resetStats();
  const again = await run(['--json']);
  assert.equal(again.code, 0, output(again));
  assert.deepEqual(filesRead(), [], 'no part was asked for');
  assert.equal(emulator.stats.requests['drive.files.media'] ?? 0, 0);
  assert.equal(emulator.stats.driveBytes, 0);
  assert.ok((emulator.stats.requests['drive.files.list'] ?? 0) > 0, 'the exports were listed');
  assert.match(
    again.stderr,
    new RegExp(
      `${allParts.length} Takeout part\\(s\\) finished for 2024 by an earlier run and unchanged since`,
    ),
  );
  // The summary names each export by its timestamp and its files in Drive.
  for (const found of exports) {
    const names = found.parts.map((part) => part.name);
    assert.match(
      again.stderr,
      new RegExp(
        `Takeout export ${found.timestamp} in Google Drive \\(${names[0]} … ${names[names.length - 1]}, ${names.length} parts, folder "Takeout"\\) is fully processed for 2024: you may delete it from Drive`,
      ),
    );
  }
  // Where the user sees the source it is Drive.
  const events = again.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map(
      (line) =>
        JSON.parse(line) as { type: string; time: string; source?: string; summary?: { source: string } },
    );
  assert.equal(events.find((event) => event.type === 'start')?.source, 'drive');
  assert.equal(events.find((event) => event.type === 'summary')?.summary?.source, 'drive');
  // And on stdout for a script: each export by its Drive file ids, oldest first, before the summary.
  assert.deepEqual(
    events
      .filter((event) => event.type === 'export-processed')
      .map(({ time: _, ...event }) => event as Record<string, unknown>),
    exports.map((found) => ({
      type: 'export-processed',
      source: 'drive',
      year: 2024,
      timestamp: found.timestamp,
      parts: found.parts.length,
      files: found.parts.map((part) => ({ name: part.name, driveFileId: part.id })),
      driveFolder: 'Takeout',
    })),
  );
  const types = events.map((event) => event.type);
  assert.ok(types.lastIndexOf('export-processed') < types.indexOf('summary'), types.join(', '));
  assert.match(first.stderr + first.stdout, /from drive into/);
});

test('a part replaced in Drive (a new md5Checksum and modifiedTime) is read again; the others are not', async () => {
  const { exports } = put(specs);
  const first = await run();
  assert.equal(first.code, 0, output(first));
  const before = await savedMedia();
  // The incremental export's first part again, with one entry's bytes changed (same size).
  const target = exports[1]?.parts[0] as DriveFile;
  const entries = splitByBytes(exports[1]?.entries ?? [], PHOTO_BYTES)[0] ?? [];
  const changed = entries.map((entry) =>
    entry.name.endsWith('archive_browser.html')
      ? { ...entry, data: String(entry.data).replace('Takeout', 'TAKEOUT') }
      : entry,
  );
  const next = buildZip(changed);
  assert.equal(next.length, target.content?.length, 'same size: only the checksum and time tell');
  const oldTime = target.modifiedTime;
  emulator.drive.replace(target.id, next);
  assert.notEqual(target.modifiedTime, oldTime);

  emulator.resetStats();
  const again = await run();
  assert.equal(again.code, 0, output(again));
  assert.deepEqual(filesRead(), [target.id]);
  assert.deepEqual(await savedMedia(), before, 'nothing saved twice');

  // Finished again under its new identity: the next run reads nothing.
  emulator.resetStats();
  const third = await run();
  assert.equal(third.code, 0, output(third));
  assert.deepEqual(filesRead(), []);
});

test('a new incremental export added after the full one was finished: only the new export is read', async () => {
  const { folderId, exports } = put(specs.slice(0, 1));
  const first = await run();
  assert.equal(first.code, 0, output(first));
  assert.match(output(first), new RegExp(`Takeout export ${exports[0]?.timestamp} in Google Drive`));
  const later = deliver(folderId, specs[1] as TakeoutExportSpec);

  emulator.resetStats();
  const again = await run();
  assert.equal(again.code, 0, output(again));
  assert.deepEqual(filesRead(), ids(later.parts));
  assert.deepEqual((await savedMedia()).map(([, hash]) => hash).sort(), yearHashes());
  // Both exports are fully processed now: the older one without being read again.
  assert.match(
    output(again),
    new RegExp(`Takeout export ${exports[0]?.timestamp} in Google Drive .* fully processed`),
  );
  assert.match(
    output(again),
    new RegExp(`Takeout export ${later.timestamp} in Google Drive .* fully processed`),
  );
});

// Regression: the text line was printed only when the run ended normally, while the JSON event
// was sent however it ended.
test('a run stopped by the download quota on a new export still says, in words as in its event, that the finished export is fully processed; not the stopped one', async () => {
  const { folderId, exports } = put(specs.slice(0, 1));
  const first = await run();
  assert.equal(first.code, 0, output(first));
  const done = exports[0] as DriveExport;
  const later = deliver(folderId, specs[1] as TakeoutExportSpec);
  // The quota runs out once the new export's listing is done, at its first download.
  emulator.setFaults({
    drive: [{ fault: 'preconditionFailed', on: ['media'], fileIds: ids(later.parts), after: 1e9 }],
  });
  const dry = await run(['--dry-run']);
  assert.equal(dry.code, 0, output(dry));
  const listing = emulator.driveRuleCalls()[0] ?? 0;
  emulator.setFaults({
    drive: [{ fault: 'downloadQuotaExceeded', on: ['media'], fileIds: ids(later.parts), after: listing }],
  });
  const stopped = await run(['--json']);
  assert.equal(stopped.code, 4, output(stopped));
  assert.ok((emulator.stats.faults['drive.downloadQuotaExceeded'] ?? 0) > 0);
  const events = stopped.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string; timestamp?: string });
  assert.deepEqual(
    events.filter((event) => event.type === 'export-processed').map((event) => event.timestamp),
    [done.timestamp],
  );
  const line = new RegExp(
    `Takeout export ${done.timestamp} in Google Drive \\(.*\\) is fully processed for 2024: you may delete it from Drive`,
  );
  assert.match(stopped.stderr, line);
  assert.doesNotMatch(stopped.stderr, new RegExp(`Takeout export ${later.timestamp} .*fully processed`));
  // After the error that ended the run, as after a summary.
  const quota = stopped.stderr.search(/downloadQuotaExceeded/);
  assert.ok(quota >= 0 && quota < stopped.stderr.search(line), stopped.stderr);

  // Without --json: the same line, after the stop message and the summary.
  const text = await run();
  assert.equal(text.code, 4, output(text));
  assert.match(text.stderr, line);
  assert.ok(text.stderr.search(/downloadQuotaExceeded/) < text.stderr.search(line), text.stderr);
});

test('a saved file deleted from the backup folder makes the Drive parts be read again, and it is saved again', async () => {
  const { exports } = put(specs);
  const first = await run();
  assert.equal(first.code, 0, output(first));
  const before = await savedMedia();
  const [gone] = before[0] as [string, string];
  await unlink(path.join(dir, 'out', gone));

  emulator.resetStats();
  const again = await run();
  assert.equal(again.code, 0, output(again));
  assert.match(
    output(again),
    /1 file\(s\) the record holds for 2024 are missing from the backup folder: every Takeout part is read again/,
  );
  assert.deepEqual(filesRead(), ids(exports.flatMap((found) => found.parts)), 'every part was read');
  assert.deepEqual(await savedMedia(), before, 'the deleted file is back, nothing else changed');

  // Read again and finished again: the run after reads nothing.
  emulator.resetStats();
  const third = await run();
  assert.equal(third.code, 0, output(third));
  assert.deepEqual(filesRead(), []);
});

test('an export read from Drive and later downloaded and read with --takeout is not saved twice', async () => {
  const { exports } = put(specs);
  const first = await run();
  assert.equal(first.code, 0, output(first));
  const before = await treeHashes(path.join(dir, 'out'));
  const record = (await readFile(path.join(dir, 'out', '.photo-backup', 'saved.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { id?: string; source?: string })
    .filter((line) => line.id !== undefined);
  assert.ok(record.length > 0);
  // Said to come from Drive, with the Takeout item's identity.
  assert.ok(
    record.every((line) => line.source === 'drive' && line.id?.startsWith('takeout:')),
    JSON.stringify(record),
  );

  const downloads = path.join(dir, 'Downloads');
  await mkdir(downloads);
  for (const part of exports.flatMap((found) => found.parts))
    await writeFile(path.join(downloads, part.name), part.content as Buffer);
  const local = await runCli(['2024', 'out', '--takeout', downloads], {
    cwd: dir,
    env: emulatorEnv(emulator),
  });
  assert.equal(local.code, 0, output(local));
  assert.match(output(local), /Saved 0 /);
  assert.deepEqual(await treeHashes(path.join(dir, 'out')), before);
});

test('--dry-run asks once per part for its directory and sidecars, once more per photo head, and remembers nothing', async () => {
  const { exports } = put(specs);
  const dry = await run(['--dry-run']);
  assert.equal(dry.code, 0, output(dry));
  // A part's end records and the rest of its directory (at most two requests; the sidecars, read
  // side by side, are merged into them or into one more), and each photo's head (its EXIF clock),
  // at most one request each: never the whole of a photo, never a request per block.
  const asked = emulator.stats.driveMediaRequests;
  for (const found of exports) {
    const split = splitByBytes(found.entries, PHOTO_BYTES);
    found.parts.forEach((part, index) => {
      const media = (split[index] ?? []).filter((entry) => !/\.(json|html)$/.test(entry.name)).length;
      const count = asked[part.id] ?? 0;
      assert.ok(count >= 1 && count <= 3 + media, `${part.name}: ${count} requests for ${media} photo(s)`);
    });
  }
  await assert.rejects(readFile(path.join(dir, 'out', '.photo-backup', 'takeout-parts.jsonl')), {
    code: 'ENOENT',
  });
  assert.doesNotMatch(output(dry), /fully processed/);
});

test('two Drive files with one part name (a part uploaded twice) are remembered apart: a rerun reads neither', async () => {
  const { folderId, exports } = put(specs);
  const copied = exports[1]?.parts[1] as DriveFile;
  const copy = emulator.drive.add({
    name: copied.name,
    mimeType: copied.mimeType,
    parents: [folderId],
    content: copied.content as Buffer,
    createdTime: copied.createdTime,
  });
  const first = await run();
  assert.equal(first.code, 0, output(first));
  assert.ok((emulator.stats.driveMediaRequests[copy.id] ?? 0) > 0, 'the copy was read');
  assert.deepEqual((await savedMedia()).map(([, hash]) => hash).sort(), yearHashes(), 'its photo saved once');
  const lines = (await readFile(path.join(dir, 'out', '.photo-backup', 'takeout-parts.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { key: string }).key);
  assert.ok(lines.includes(`drive:${copied.id}`) && lines.includes(`drive:${copy.id}`), lines.join(', '));

  emulator.resetStats();
  const again = await run();
  assert.equal(again.code, 0, output(again));
  assert.deepEqual(filesRead(), []);
});

test('parts first read in a run that reads every part again (a saved file missing) are remembered too', async () => {
  const { folderId } = put(specs.slice(0, 1));
  const first = await run();
  assert.equal(first.code, 0, output(first));
  const [gone] = (await savedMedia())[0] as [string, string];
  await unlink(path.join(dir, 'out', gone));
  // The next export arrives, and the run that saves the missing file again reads it first.
  const later = deliver(folderId, specs[1] as TakeoutExportSpec);
  const again = await run();
  assert.equal(again.code, 0, output(again));
  assert.match(output(again), /are missing from the backup folder: every Takeout part is read again/);
  assert.match(
    output(again),
    new RegExp(`Takeout export ${later.timestamp} in Google Drive .* fully processed`),
  );

  emulator.resetStats();
  const third = await run();
  assert.equal(third.code, 0, output(third));
  assert.deepEqual(filesRead(), [], 'every part, old and new, is finished');
  assert.deepEqual((await savedMedia()).map(([, hash]) => hash).sort(), yearHashes());
});
