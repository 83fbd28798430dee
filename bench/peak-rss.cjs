// Preloaded (`node --require`) into every measured process: on exit it writes the process's
// peak resident set size in KB to $BENCH_RSS_FILE. The kernel keeps the high-water mark, so no
// sampling can miss a short peak.
//
// On Linux it is VmHWM of /proc/self/status, not getrusage's ru_maxrss: a child spawned by a
// large parent starts as a fork of it, and Linux carries that copy's high-water mark across exec
// into ru_maxrss. The bench process holds hundreds of MB after building a big zip, so ru_maxrss
// reported the bench's own size (690 MB) for a run whose own peak was 440 MB. VmHWM is the peak
// of the program's own address space. Elsewhere ru_maxrss is what there is.
const { readFileSync, writeFileSync } = require('node:fs');

const file = process.env.BENCH_RSS_FILE;

function peakKb() {
  try {
    const match = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // No /proc (macOS, Windows).
  }
  return process.resourceUsage().maxRSS;
}

if (file) {
  process.on('exit', () => {
    writeFileSync(file, String(peakKb()));
  });
}
