/**
 * FileSink, the file end of a download: a write still waiting in the thread pool when the body
 * fails must end before the descriptor is closed, or it lands in whichever file next gets the
 * same descriptor number (a reliability run caught exactly that: one photo with another's bytes).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyError } from '../src/http.ts';
import { FileSink, writeAll, writeTemp } from '../src/transfer.ts';

const MiB = 1 << 20;

test('FileSink.idle() waits for the write under way, even after the body failed', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-sink-'));
  // A FIFO nobody reads yet: a 1 MiB write blocks in the thread pool until the test drains it.
  const fifo = path.join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const fd = openSync(fifo, constants.O_RDWR);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  let drained = 0;
  const buffer = Buffer.alloc(1 << 16);
  /** Reads what the pipe holds now. */
  const drain = () => {
    for (;;) {
      try {
        const count = readSync(reader, buffer);
        if (count === 0) return;
        drained += count;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return;
        throw error;
      }
    }
  };
  try {
    const body = new Readable({ read() {} });
    const sink = new FileSink(fd, undefined, undefined);
    const writing = sink.drain(body, new AbortController().signal);
    body.push(Buffer.alloc(MiB, 7));
    await sleep(50);
    body.destroy(new Error('the body failed'));
    await assert.rejects(writing, /the body failed/);
    let idle = false;
    void sink.idle().then(() => {
      idle = true;
    });
    await sleep(100);
    assert.equal(idle, false, 'the write is still under way');
    for (let tries = 0; !idle && tries < 5000; tries++) {
      drain();
      await sleep(1);
    }
    assert.equal(idle, true);
    drain();
    assert.equal(drained, MiB, 'the whole write went where it was meant to');
  } finally {
    // Never leave a pool thread blocked on the FIFO (the process could not exit).
    for (let tries = 0; drained < MiB && tries < 2000; tries++) {
      drain();
      await sleep(1);
    }
    closeSync(reader);
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
});

/** A temporary file for one sink test; `check` gets its path, the sink and the open descriptor. */
async function withFile(check: (file: string, fd: number) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-sink-'));
  const file = path.join(dir, 'out');
  const fd = openSync(file, 'wx');
  try {
    await check(file, fd);
  } finally {
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
}

/** `count` chunks of `size` bytes, each filled with its own index, and all of them joined. */
/** A 200-byte body drained into a read-only descriptor of `file` (announced as `size`): EBADF. */
async function drainIntoReadOnly(file: string, size?: number): Promise<Readable> {
  const readOnly = openSync(file, 'r');
  try {
    const sink = new FileSink(readOnly, undefined, undefined);
    const body = Readable.from([Buffer.alloc(100, 1), Buffer.alloc(100, 2)], { objectMode: false });
    await assert.rejects(sink.drain(body, new AbortController().signal, size), { code: 'EBADF' });
    await sink.idle();
    return body;
  } finally {
    closeSync(readOnly);
  }
}

function chunks(count: number, size: number): { parts: Buffer[]; whole: Buffer } {
  const parts = Array.from({ length: count }, (_, index) => Buffer.alloc(size, index % 251));
  return { parts, whole: Buffer.concat(parts) };
}

test('FileSink writes every chunk of a body in order, pausing it while the disk catches up', async () => {
  await withFile(async (file, fd) => {
    // 3 MiB in 40 KiB pieces, pushed as fast as the body is read: more than 64 KiB waits at times.
    const { parts, whole } = chunks(75, 40 * 1024);
    const body = Readable.from(parts, { objectMode: false });
    let pauses = 0;
    body.on('pause', () => pauses++);
    let counted = 0;
    const sink = new FileSink(fd, undefined, (count) => {
      counted += count;
    });
    await sink.drain(body, new AbortController().signal);
    assert.equal(sink.bytes, whole.length);
    assert.equal(counted, whole.length);
    assert.ok(readFileSync(file).equals(whole), 'the file holds the body, byte for byte');
    assert.ok(pauses > 0, 'the body was paused while writes were under way');
  });
});

test('FileSink takes a body that is only an async iterable (a Takeout entry)', async () => {
  await withFile(async (file, fd) => {
    const { parts, whole } = chunks(20, 10_000);
    async function* entry() {
      for (const part of parts) {
        await sleep(0);
        yield new Uint8Array(part);
      }
    }
    const sink = new FileSink(fd, undefined, undefined);
    await sink.drain(entry(), new AbortController().signal);
    assert.ok(readFileSync(file).equals(whole));
  });
});

test('FileSink pulls a generator no faster than the file takes it, and ends it when it fails', async () => {
  await withFile(async (file, fd) => {
    // 3 MiB in 40 KiB pieces offered at once: the sink asks for the next only while little waits.
    const { parts, whole } = chunks(75, 40 * 1024);
    let given = 0;
    let mostAhead = 0;
    const sink = new FileSink(fd, undefined, undefined);
    async function* entry() {
      for (const part of parts) {
        given += part.length;
        mostAhead = Math.max(mostAhead, given - sink.bytes);
        yield part;
      }
    }
    await sink.drain(entry(), new AbortController().signal);
    assert.ok(readFileSync(file).equals(whole));
    assert.ok(mostAhead <= 2 * 64 * 1024, `at most one write and one chunk ahead, not ${mostAhead} bytes`);
  });
  await withFile(async (_file, fd) => {
    // A chunk past the announced size: the generator is ended (its finally runs), not left open.
    let closed = false;
    async function* entry() {
      try {
        for (let index = 0; index < 10; index++) yield Buffer.alloc(1000, index);
      } finally {
        closed = true;
      }
    }
    const sink = new FileSink(fd, undefined, undefined);
    await assert.rejects(
      sink.drain(entry(), new AbortController().signal, 2500),
      /longer than its announced/,
    );
    await sink.idle();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, true);
  });
});

test('FileSink stops at the signal with its reason and lets go of the body', async () => {
  await withFile(async (_file, fd) => {
    const body = new Readable({ read() {} });
    const stop = new AbortController();
    const sink = new FileSink(fd, undefined, undefined);
    const writing = sink.drain(body, stop.signal);
    body.push(Buffer.alloc(1000, 1));
    await sleep(10);
    stop.abort(new Error('interrupted by the user'));
    await assert.rejects(writing, /interrupted by the user/);
    assert.equal(body.destroyed, true);
    await sink.idle();
  });
});

test('FileSink fails a body that closes before its end without an error, and that failure is retried', async () => {
  await withFile(async (_file, fd) => {
    const body = new Readable({ read() {} });
    const sink = new FileSink(fd, undefined, undefined);
    const writing = sink.drain(body, new AbortController().signal);
    body.push(Buffer.alloc(500, 1));
    await sleep(10);
    body.destroy();
    const error = await writing.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    assert.match(String(error), /closed early, after 500 bytes/);
    assert.equal(classifyError(error), 'retry');
  });
});

test('FileSink reports a failed write (a descriptor that cannot be written)', async () => {
  await withFile(async (file) => {
    const body = await drainIntoReadOnly(file);
    assert.equal(body.destroyed, true);
  });
});

test('FileSink fails a body that failed before it was read, with its error', async () => {
  await withFile(async (_file, fd) => {
    const body = new Readable({ read() {} });
    body.on('error', () => undefined);
    body.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await sleep(10); // its error and close events are past
    const sink = new FileSink(fd, undefined, undefined);
    await assert.rejects(sink.drain(body, new AbortController().signal), { code: 'ECONNRESET' });
    const closed = new Readable({ read() {} });
    closed.destroy();
    await sleep(10);
    await assert.rejects(sink.drain(closed, new AbortController().signal), /closed early, after 0 bytes/);
  });
});

test('writeAll goes on after partial writes until every byte is out, in order', async () => {
  const { parts, whole } = chunks(5, 1000);
  const out: Buffer[] = [];
  const calls: number[] = [];
  // A file that takes at most 700 bytes per call, cutting chunks anywhere.
  const stingy = (
    _fd: number,
    buffers: Buffer[],
    callback: (error: NodeJS.ErrnoException | null, written: number) => void,
  ) => {
    if (calls.length > 50) {
      callback(new Error('writeAll does not get on'), 0);
      return;
    }
    const taken = Buffer.concat(buffers).subarray(0, 700);
    out.push(Buffer.from(taken));
    calls.push(taken.length);
    setImmediate(() => callback(null, taken.length));
  };
  await new Promise<void>((resolve, reject) =>
    writeAll(0, parts, (error) => (error ? reject(error) : resolve()), stingy),
  );
  assert.ok(Buffer.concat(out).equals(whole), 'every byte once, in order');
  assert.deepEqual(calls, [700, 700, 700, 700, 700, 700, 700, 100]);
});

test('writeAll reports a write error, and a file that takes nothing, instead of looping', async () => {
  const failing = (
    _fd: number,
    _buffers: Buffer[],
    callback: (error: NodeJS.ErrnoException | null, written: number) => void,
  ) => setImmediate(() => callback(Object.assign(new Error('EFBIG: file too large'), { code: 'EFBIG' }), 0));
  const nothing = (
    _fd: number,
    _buffers: Buffer[],
    callback: (error: NodeJS.ErrnoException | null, written: number) => void,
  ) => setImmediate(() => callback(null, 0));
  for (const [write, code] of [
    [failing, 'EFBIG'],
    [nothing, 'EIO'],
  ] as const) {
    const error = await new Promise<Error | null | undefined>((resolve) =>
      writeAll(0, [Buffer.alloc(10)], resolve, write),
    );
    assert.equal((error as NodeJS.ErrnoException | undefined)?.code, code);
  }
});

test('writeTemp: a body that goes on past its announced size stops at once, is not retried, and leaves no .part', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-long-'));
  try {
    let yielded = 0;
    // Never ends: before the size check moved into the sink this filled the disk.
    const endless = async function* () {
      for (;;) {
        yielded += 64 * 1024;
        yield Buffer.alloc(64 * 1024, 7);
      }
    };
    const failure = await writeTemp(async () => ({ body: endless(), size: MiB }), dir, 'IMG_1.jpg', {
      hash: false,
      signal: new AbortController().signal,
    }).then(
      () => assert.fail('saved'),
      (error: unknown) => error,
    );
    assert.match(String(failure), /longer than its announced 1048576 bytes/);
    assert.equal(classifyError(failure), 'fatal');
    assert.ok(yielded < 64 * MiB, `read ${yielded} bytes`);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('FileSink: a small body of known size is held whole and written once at its end, byte for byte', async () => {
  await withFile(async (file, fd) => {
    const { parts, whole } = chunks(5, 6000);
    let pulled = 0;
    async function* body() {
      for (const part of parts) {
        pulled++;
        await sleep(0);
        // Nothing reaches the file before the body's end: the one write comes after the last chunk.
        assert.equal(readFileSync(file).length, 0, `nothing written before chunk ${pulled}`);
        yield part;
      }
    }
    const sink = new FileSink(fd, undefined, undefined);
    await sink.drain(body(), new AbortController().signal, whole.length);
    assert.equal(sink.bytes, whole.length);
    assert.ok(readFileSync(file).equals(whole), 'the file holds the body');
  });
});

test('FileSink: a small body that cannot be written, or stops at the signal, fails with the reason and writes nothing after', async () => {
  await withFile(async (file, fd) => {
    await drainIntoReadOnly(file, 200);
    const stop = new AbortController();
    const slow = new Readable({ read() {} });
    slow.push(Buffer.alloc(100, 3));
    const sink = new FileSink(fd, undefined, undefined);
    const drained = sink.drain(slow, stop.signal, 1000);
    await sleep(5);
    stop.abort(new Error('stopped by the user'));
    await assert.rejects(drained, /stopped by the user/);
    await sink.idle();
    assert.equal(readFileSync(file).length, 0, 'the held bytes were not written');
    assert.equal(slow.destroyed, true);
  });
});

test('writeTemp: a small body longer or shorter than announced leaves no .part; one of the right size is complete', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pb-small-'));
  try {
    const run = (parts: Buffer[], size: number) =>
      writeTemp(async () => ({ body: Readable.from(parts, { objectMode: false }), size }), dir, 'IMG_1.jpg', {
        hash: true,
        signal: new AbortController().signal,
      });
    await assert.rejects(
      run([Buffer.alloc(3000, 1), Buffer.alloc(3000, 2)], 5000),
      /longer than its announced 5000/,
    );
    await assert.rejects(
      run([Buffer.alloc(3000, 1)], 5000),
      (error: Error) => error.name === 'ShortBodyError',
    );
    assert.deepEqual(await readdir(dir), []);
    const written = await run([Buffer.alloc(3000, 1), Buffer.alloc(2000, 2)], 5000);
    assert.equal(written.bytes, 5000);
    assert.equal(readFileSync(written.tempPath).length, 5000);
    assert.equal(typeof written.sha256, 'string');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
