/**
 * What every b10 daemon does about its surroundings: stop on SIGINT/SIGTERM,
 * and stop when the boss that started it is gone. The boss starts children
 * with an IPC channel; the channel closing is the parent's death, noticed as
 * an event rather than by polling a pid, even when the boss was SIGKILLed.
 */
export function onStopRequest(stop: (reason: string) => void): void {
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  if (process.connected) process.once('disconnect', () => stop('parent process gone'));
}
