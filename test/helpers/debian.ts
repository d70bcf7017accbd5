import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The path of a Debian tool a test needs. A missing one is installed with
 * apt-get when the tests run as root (as CI does); otherwise the test stops
 * with a message naming the package. Never a silent skip.
 */
export function requireTool(binary: string, pkg: string): string {
  const where = [`/usr/bin/${binary}`, `/usr/sbin/${binary}`].find((p) => existsSync(p));
  if (where) return where;
  if (process.getuid?.() !== 0) throw new Error(`${binary} is not installed: run "apt-get install ${pkg}" (as root), then the tests again`);
  const apt = (args: string[]): void => void execFileSync('apt-get', args, { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    apt(['install', '-y', '-qq', pkg]);
  } catch {
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', pkg]);
  }
  const installed = [`/usr/bin/${binary}`, `/usr/sbin/${binary}`].find((p) => existsSync(p));
  if (!installed) throw new Error(`apt-get install ${pkg} did not provide ${binary}`);
  return installed;
}
