// Preloaded into the CLI process by the bench (node --import): reports peak RSS and CPU time on exit.
import process from 'node:process';

process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`deploysim-bench maxRSS ${u.maxRSS} cpuMicros ${u.userCPUTime + u.systemCPUTime}\n`);
});
