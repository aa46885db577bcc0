// Preloaded into the CLI process by the bench (node --import): reports peak RSS, CPU time and the size
// V8's young generation has grown to (most of the peak above the live heap) on exit.
import process from 'node:process';
import v8 from 'node:v8';

process.on('exit', () => {
  const u = process.resourceUsage();
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  process.stderr.write(`deploysim-bench maxRSS ${u.maxRSS} cpuMicros ${u.userCPUTime + u.systemCPUTime} youngBytes ${young}\n`);
});
