import { describe, expect, it } from 'vitest';
import { bindFailure, blockedByOwn, checkEndpoints, ListenError, planMove, type Bound } from '../src/auth/endpoints.js';

const at = (address: string, port: number, boundPort = port): Bound => ({ asked: { address, port }, bound: { address, port: boundPort } });
const errno = (code: string, message = `bind ${code}`): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe('auth endpoints: what a listen_on may hold', () => {
  it('names_refused: a host name would cost a lookup and is not an address', () => {
    expect(() => checkEndpoints([{ address: 'not-an-ip', port: 5300 }])).toThrow(new ListenError('"not-an-ip" is not an IPv4 or IPv6 address'));
    expect(() => checkEndpoints([{ address: 'localhost', port: 5300 }])).toThrow(ListenError);
  });

  it('port_out_of_range: refused with the address it goes with', () => {
    expect(() => checkEndpoints([{ address: '::1', port: 65536 }])).toThrow('port 65536 of ::1 is not within 0..65535');
    expect(() => checkEndpoints([{ address: '127.0.0.1', port: -1 }])).toThrow(ListenError);
  });

  it('listed_twice: refused; port 0 twice asks for two ports and is allowed', () => {
    expect(() => checkEndpoints([{ address: '::1', port: 53 }, { address: '::1', port: 53 }])).toThrow('[::1]:53 is listed twice');
    expect(() => checkEndpoints([{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 0 }, { address: '::', port: 53 }])).not.toThrow();
  });
});

describe('auth endpoints: what a move keeps', () => {
  it('overlap_keeps_sockets: an endpoint still wanted keeps its listener, the others are opened or dropped', () => {
    const a = at('127.0.0.1', 5300);
    const b = at('127.0.0.1', 5301);
    const move = planMove([a, b], [{ address: '127.0.0.1', port: 5301 }, { address: '::1', port: 5300 }]);
    expect(move.kept).toEqual([b, undefined]);
    expect(move.dropped).toEqual([a]);
  });

  it('picked_port_named: a port picked for port 0, named afterwards, is the same endpoint', () => {
    const picked = at('127.0.0.1', 0, 40000);
    expect(planMove([picked], [{ address: '127.0.0.1', port: 40000 }, { address: '127.0.0.1', port: 40001 }]).kept).toEqual([picked, undefined]);
    // Asked again for any port: the one it has will do.
    expect(planMove([picked], [{ address: '127.0.0.1', port: 0 }]).kept).toEqual([picked]);
  });

  it('same_list: nothing opened, nothing dropped', () => {
    const listeners = [at('127.0.0.1', 5300), at('::1', 5300)];
    const move = planMove(listeners, listeners.map((l) => l.asked));
    expect(move).toEqual({ kept: listeners, dropped: [] });
  });

  it('blocked_by_own: only EADDRINUSE on the port of a listener being dropped', () => {
    const dropped = [at('0.0.0.0', 5300)];
    const inUse = bindFailure({ address: '127.0.0.1', port: 5300 }, 'UDP', errno('EADDRINUSE'));
    expect(blockedByOwn(inUse, { address: '127.0.0.1', port: 5300 }, dropped)).toBe(true);
    expect(blockedByOwn(inUse, { address: '127.0.0.1', port: 5301 }, dropped)).toBe(false);
    expect(blockedByOwn(bindFailure({ address: '127.0.0.1', port: 5300 }, 'UDP', errno('EACCES')), { address: '127.0.0.1', port: 5300 }, dropped)).toBe(false);
  });
});

describe('auth endpoints: what a failed bind says', () => {
  it('bind_failure_reasons: in the operator\'s words, with the code; an unknown one with its own message', () => {
    expect(bindFailure({ address: '203.0.113.1', port: 53 }, 'UDP', errno('EADDRNOTAVAIL')).message).toBe(
      'cannot listen on 203.0.113.1:53 (UDP): the address is not on this host (EADDRNOTAVAIL)',
    );
    expect(bindFailure({ address: '::1', port: 5300 }, 'TCP', errno('EADDRINUSE')).message).toBe(
      'cannot listen on [::1]:5300 (TCP): the port is in use by another program (EADDRINUSE)',
    );
    const odd = bindFailure({ address: '127.0.0.1', port: 5300 }, 'TCP', errno('EWHATEVER', 'listen EWHATEVER 127.0.0.1:5300'));
    expect(odd.message).toBe('cannot listen on 127.0.0.1:5300 (TCP): listen EWHATEVER 127.0.0.1:5300');
    expect(odd.bindCode).toBe('EWHATEVER');
  });
});
