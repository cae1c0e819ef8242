// CPU readings from /proc (Linux) shared by the benchmarks: a process's CPU time, the pids of a
// program, and machine-wide busy/steal time — so each run can say how busy the machine was.
import fs from 'node:fs';

/** utime+stime in seconds of a pid (clock ticks, USER_HZ = 100); 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The pids whose program name (comm) is one of `names`. */
export function pidsNamed(names: string[]): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (names.includes(fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim())) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Machine-wide busy and steal seconds (all CPUs) from /proc/stat. */
export function machineCpu(): { busy: number; steal: number } {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return { busy: (user + nice + system + irq + softirq) / 100, steal: (steal ?? 0) / 100 };
  } catch {
    return { busy: 0, steal: 0 };
  }
}
