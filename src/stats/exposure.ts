import { readFileSync } from 'node:fs';
import { AnswerError } from '../../protocol/errors.js';
import { assertPrivate } from '../../protocol/token.js';
import { formatEndpoint, type Endpoint } from '../auth/endpoints.js';
import { isLoopback } from '../listen.js';

/** The bearer token in `file`: private to its owner, not empty. */
export function readBearerToken(file: string): string {
  try {
    assertPrivate(file);
    const token = readFileSync(file, 'utf8').trim();
    if (token === '' || /\s/.test(token)) throw new Error('it must hold one token, no spaces');
    return token;
  } catch (err) {
    throw new AnswerError(1, `token_file ${file}: ${(err as Error).message}`);
  }
}

/** Why a listen_on and token_file cannot go together, if they cannot: anything but loopback needs a token. */
export function exposureProblem(endpoints: readonly Endpoint[], tokenFile: string | undefined): string | undefined {
  const open = endpoints.filter((e) => !isLoopback(e.address));
  if (open.length === 0 || tokenFile !== undefined) return undefined;
  return `listen_on ${open.map(formatEndpoint).join(', ')} is not loopback: set StatsHttpd/token_file (a bearer token) to serve there`;
}
