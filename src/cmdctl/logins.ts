import type { WebSocket } from 'ws';
import { Tokens, type Login } from './login.js';

/** The most a login may last: its sockets' end is a timer, and Node's timers go no further (24.8 days). */
export const MAX_TOKEN_TTL_MS = 2 ** 31 - 1;

/** The close code for a socket whose login ended: 1008, policy violation. */
const LOGIN_ENDED = 1008;

/** The open sockets of one login, and the timer that closes them when it expires. */
interface LoginSockets {
  sockets: Set<WebSocket>;
  expiry: NodeJS.Timeout;
}

/**
 * The logins handed out and the WebSockets opened with each: a socket lives
 * no longer than its login. Ending a login (logout, its account removed or
 * given a new password) revokes its token and closes its sockets with the
 * reason; so does its expiry, on a timer started by its first socket.
 */
export class Logins {
  private readonly tokens: Tokens;
  private readonly open = new Map<string, LoginSockets>();

  constructor(ttlMs: number) {
    this.tokens = new Tokens(ttlMs);
  }

  issue(user: string, stamp: string): string {
    return this.tokens.issue(user, stamp);
  }

  /** The login a token stands for, while it lasts. */
  loginOf(token: string | undefined): Login | undefined {
    return this.tokens.loginOf(token);
  }

  /** Ends a login: its token stops working and its sockets close, saying why. */
  end(token: string, why: string): void {
    this.tokens.revoke(token);
    const entry = this.open.get(token);
    if (!entry) return;
    this.open.delete(token);
    clearTimeout(entry.expiry);
    for (const ws of entry.sockets) ws.close(LOGIN_ENDED, why);
  }

  /** Ends the logins whose account's stamp is no longer the one they were made with. */
  endStale(stampOf: (user: string) => string | undefined, why: string): void {
    for (const token of this.tokens.revokeStale(stampOf)) this.end(token, why);
  }

  /** Counts a socket under its login until it closes. */
  attach(ws: WebSocket, token: string, login: Login): void {
    let entry = this.open.get(token);
    if (!entry) {
      const expiry = setTimeout(() => this.end(token, 'the login expired'), Math.max(0, login.expires - Date.now()));
      entry = { sockets: new Set(), expiry };
      this.open.set(token, entry);
    }
    const mine = entry;
    mine.sockets.add(ws);
    ws.once('close', () => {
      mine.sockets.delete(ws);
      if (mine.sockets.size > 0 || this.open.get(token) !== mine) return;
      clearTimeout(mine.expiry);
      this.open.delete(token);
    });
  }

  /** Stops the expiry timers, for a server that is closing (its sockets are terminated). */
  clear(): void {
    for (const { expiry } of this.open.values()) clearTimeout(expiry);
    this.open.clear();
  }
}
