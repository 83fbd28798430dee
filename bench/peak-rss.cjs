// Preloaded (`node --require`) into every measured process: on exit it writes the process's
// peak resident set size in KB (getrusage ru_maxrss) to $BENCH_RSS_FILE. The kernel keeps the
// high-water mark, so no sampling can miss a short peak.
const { writeFileSync } = require('node:fs');

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS));
  });
}
