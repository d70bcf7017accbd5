import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToken, TOKEN_FILE_NAME } from '../../protocol/token.js';

/**
 * A bus token of this process's own, in B10_MSGQ_TOKEN_FILE: every msgq that
 * startMsgq starts uses it, and every Session, RawClient and b10 command of
 * this process finds it there, as an operator's shell would. Returns the
 * clean-up.
 */
export function useOwnToken(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'b10-token-'));
  process.env.B10_MSGQ_TOKEN_FILE = path.join(dir, TOKEN_FILE_NAME);
  writeFileSync(process.env.B10_MSGQ_TOKEN_FILE, `${createToken()}\n`, { mode: 0o600 });
  return () => rmSync(dir, { recursive: true, force: true });
}
