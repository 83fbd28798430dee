/**
 * FileSink, the file end of a download: a write still waiting in the thread pool when the body
 * fails must end before the descriptor is closed, or it lands in whichever file next gets the
 * same descriptor number (a reliability run caught exactly that: one photo with another's bytes).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileSink } from '../src/transfer.ts';

const MiB = 1 << 20;

test('FileSink.idle() waits for the write under way, even after the sink is destroyed', async () => {
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
    const sink = new FileSink(fd, undefined, undefined);
    sink.on('error', () => undefined);
    sink.write(Buffer.alloc(MiB, 7));
    await sleep(50);
    sink.destroy(new Error('the body failed'));
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
