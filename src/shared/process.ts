/**
 * Whether a process of this host still runs. EPERM means it does (another user's); a pid given no
 * signal at all is gone. Used where work left by a process is judged: its temp files, its GC gate, its
 * leases.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
