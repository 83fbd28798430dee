/**
 * Writes the sidecars of files saved this run on a thread of its own (and makes the album links
 * made as files are saved, albums.ts LiveAlbumLinks: one symlink call each), so that creating them (a
 * temporary file, a write, a close and a rename, the kernel's work for each) is not done by the
 * main thread, which keeps the downloads going. The main thread decides, builds the bytes and
 * records their hash first (metadata/step.ts); a run killed before a queued sidecar reached the
 * disk leaves a record whose sidecar is absent, and the next --xmp run writes it ("missing").
 *
 * On the thread, each sidecar is written as writeSidecar does (sidecar-file.ts): a temporary
 * `.<name>.w<n>.part` beside it, then a rename over the final name, so the name only ever holds a
 * whole sidecar, and sweepTemps removes a temporary file a killed run left. Sidecars go to the
 * thread in batches (BATCH, or what is queued after BATCH_WAIT_MS), each answered in one message.
 *
 * The thread's code is a plain script (no TypeScript, no imports of this project): it then runs
 * the same from dist/ and from the sources through tsx. Measured in docs/performance.md.
 */
import { Worker } from 'node:worker_threads';
import { reapplyV8Flags } from '../v8-flags.ts';

/** A sidecar's text to write at `path`, or a symlink to `link` (an album link, albums.ts) to make there. */
type Job = { path: string; text: string } | { path: string; link: string };

/** Runs on the writer thread: `[{ path, text } | { path, link }]` in, one error code (or null) per job out. */
const THREAD = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
let count = 0;
parentPort.on('message', (jobs) => {
  const answers = [];
  for (const job of jobs) {
    if (job.link !== undefined) {
      // One call: a symlink appears whole; EPERM (no symlinks here) is answered, the caller links instead.
      try {
        fs.symlinkSync(job.link, job.path, 'file');
        answers.push(null);
      } catch (error) {
        answers.push((error && error.code) || String(error));
      }
      continue;
    }
    const temp = path.join(path.dirname(job.path), '.' + path.basename(job.path) + '.w' + (++count).toString(36) + '.part');
    try {
      const bytes = Buffer.from(job.text, 'utf8');
      const fd = fs.openSync(temp, 'wx');
      try {
        let written = 0;
        while (written < bytes.length) written += fs.writeSync(fd, bytes, written);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, job.path);
      answers.push(null);
    } catch (error) {
      try { fs.rmSync(temp, { force: true }); } catch {}
      answers.push((error && error.code) || String(error));
    }
  }
  parentPort.postMessage(answers);
});
`;

/**
 * Jobs sent to the thread at once, or what is queued after BATCH_WAIT_MS. Each message wakes the
 * thread, and its answer the main thread: on the 2-core machine a wake-up can cost the main thread
 * its core for a moment. 64 or 20 ms gave about 350 messages for 5000 sidecars and 5000 links,
 * 0.3 s of the main thread's profile in postMessage at load 6; 256 or 100 ms about 100.
 */
const BATCH = 256;
const BATCH_WAIT_MS = 100;

export class SidecarWriter {
  #worker: Worker | undefined;
  /** Jobs of this turn, not sent yet. */
  #queued: { job: Job; done: (code: string | null) => void }[] = [];
  /** Batches sent, oldest first: the thread answers them in order. */
  readonly #sent: ((code: string | null) => void)[][] = [];
  #broken: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];

  /** Resolves once `text` is at `sidecarPath` (undefined), or with the error code that kept it out. */
  write(sidecarPath: string, text: string): Promise<string | undefined> {
    return this.#queue({ path: sidecarPath, text });
  }

  /** Resolves once `linkPath` is a symlink to `target` (undefined), or with the error code (EEXIST, EPERM, …). */
  symlink(linkPath: string, target: string): Promise<string | undefined> {
    return this.#queue({ path: linkPath, link: target });
  }

  #queue(job: Job): Promise<string | undefined> {
    return new Promise((resolve) => {
      const done = (code: string | null) => resolve(code ?? undefined);
      if (this.#broken) {
        done(this.#broken);
        return;
      }
      this.#queued.push({ job, done });
      // Sent in batches: each message wakes the thread, and its answer the main thread, which
      // costs more than writing a sidecar when sent one turn of the event loop at a time.
      if (this.#queued.length >= BATCH) this.#send();
      else this.#timer ??= setTimeout(() => this.#send(), BATCH_WAIT_MS);
    });
  }

  /** Resolves when every sidecar asked for so far is written or has failed. */
  flush(): Promise<void> {
    this.#send();
    if (this.#queued.length === 0 && this.#sent.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Waits for what is asked, then ends the thread. */
  async close(): Promise<void> {
    await this.flush();
    const worker = this.#worker;
    this.#worker = undefined;
    this.#broken ??= 'closed';
    await worker?.terminate();
  }

  #send(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#queued;
    this.#queued = [];
    if (batch.length === 0) return;
    if (this.#broken) {
      for (const { done } of batch) done(this.#broken);
      this.#checkIdle();
      return;
    }
    const worker = this.#thread();
    // Held while it has work, so the process waits for it; let go when idle, so it never keeps a
    // finished run alive.
    if (this.#sent.length === 0) worker.ref();
    this.#sent.push(batch.map(({ done }) => done));
    worker.postMessage(batch.map(({ job }) => job));
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(THREAD, { eval: true });
    // Starting it put V8's flags back to their defaults, for the main thread too (v8-flags.ts).
    worker.once('online', reapplyV8Flags);
    worker.on('message', (answers: (string | null)[]) => {
      const batch = this.#sent.shift() ?? [];
      for (const [index, done] of batch.entries()) done(answers[index] ?? null);
      if (this.#sent.length === 0) worker.unref();
      this.#checkIdle();
    });
    const fail = (reason: string) => {
      this.#broken ??= reason;
      for (const batch of this.#sent.splice(0)) for (const done of batch) done(reason);
      this.#checkIdle();
    };
    worker.on('error', (error) => fail((error as NodeJS.ErrnoException).code ?? String(error)));
    worker.on('exit', () => fail('the writer thread ended'));
    this.#worker = worker;
    return worker;
  }

  #checkIdle(): void {
    if (this.#queued.length > 0 || this.#sent.length > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
