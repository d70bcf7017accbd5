import { describe, expect, it } from 'vitest';
import { cbor, detectCodec, json } from '../protocol/codec.js';
import { parseEnvelope } from '../protocol/envelope.js';
import { ProtocolError } from '../protocol/errors.js';
import { createAnswer, createCommand, parseAnswer, parseCommand, answerValue } from '../protocol/message.js';
import { AnswerError } from '../protocol/errors.js';

describe('codec', () => {
  it('plain_cbor_on_the_wire: a map is a plain CBOR map with text keys, no cbor-x tags', () => {
    // a2 (map of 2) 64 "type" 64 "ping" 63 "seq" 01 — what any CBOR library writes.
    expect(cbor.encode({ type: 'ping', seq: 1 }).toString('hex')).toBe('a264747970656470696e6763736571' + '01');
    expect(cbor.encode(new Uint8Array([1, 2])).toString('hex')).toBe('420102');
  });

  it('decodes maps to plain objects', () => {
    expect(cbor.decode(Buffer.from('a1636b657963766174', 'hex'))).toEqual({ key: 'vat' });
  });

  it('trailing_bytes: refused as a decode error', () => {
    const bytes = Buffer.concat([cbor.encode({ a: 1 }), Buffer.from([0])]);
    expect(() => cbor.decode(bytes)).toThrow(ProtocolError);
  });

  it('truncated_value: refused as a decode error', () => {
    const bytes = cbor.encode({ a: 'long text here' });
    expect(() => cbor.decode(bytes.subarray(0, bytes.length - 2))).toThrow(/undecodable cbor/);
  });

  it('decoded_bytes_kept: a byte string from one body is not overwritten by decoding the next', () => {
    const first = cbor.decode(cbor.encode({ key: Buffer.from('first body') })) as { key: Buffer };
    cbor.decode(cbor.encode({ key: Buffer.from('second one') }));
    expect(Buffer.isBuffer(first.key)).toBe(true);
    expect(first.key.toString()).toBe('first body');
  });

  it('truncated_after_a_longer_one: a short body cut off is refused, not completed from an earlier one', () => {
    const whole = cbor.encode({ text: 'a string long enough to notice' });
    cbor.decode(whole);
    expect(() => cbor.decode(whole.subarray(0, whole.length - 5))).toThrow(ProtocolError);
  });

  it('json_detection: a header starting with { is JSON, anything else CBOR', () => {
    expect(detectCodec(Buffer.from('{"type":"ping"}')).encoding).toBe('json');
    expect(detectCodec(cbor.encode({ type: 'ping' })).encoding).toBe('cbor');
  });

  it('invalid_json: refused as a decode error', () => {
    expect(() => json.decode(Buffer.from('{"a":'))).toThrow(ProtocolError);
    expect(() => json.decode(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow(ProtocolError);
  });

  it('json_bytes: byte strings travel as base64', () => {
    expect(json.decode(json.encode({ b: Buffer.from('hi') }))).toEqual({ b: 'aGk=' });
  });
});

describe('envelope', () => {
  const code = (value: unknown): string | undefined => {
    try {
      parseEnvelope(value);
    } catch (err) {
      return (err as ProtocolError).code;
    }
    return undefined;
  };

  it('accepts each client message type with its required fields', () => {
    expect(code({ type: 'getlname' })).toBeUndefined();
    expect(code({ type: 'subscribe', group: 'G' })).toBeUndefined();
    expect(code({ type: 'send', to: '*', group: 'G', seq: 1, want_answer: true, extra: [1] })).toBeUndefined();
  });

  it('header_not_a_map: refused', () => {
    expect(code([1, 2])).toBe('ERR_HEADER_NOT_MAP');
    expect(code('send')).toBe('ERR_HEADER_NOT_MAP');
    expect(code(null)).toBe('ERR_HEADER_NOT_MAP');
  });

  it('missing_fields: refused', () => {
    expect(code({})).toBe('ERR_FIELD_MISSING');
    expect(code({ type: 'subscribe' })).toBe('ERR_FIELD_MISSING');
    expect(code({ type: 'send', group: 'G', seq: 1 })).toBe('ERR_FIELD_MISSING');
  });

  it('wrongly_typed_fields: refused', () => {
    expect(code({ type: 7 })).toBe('ERR_FIELD_TYPE');
    expect(code({ type: 'send', to: '*', group: 'G', seq: '1' })).toBe('ERR_FIELD_TYPE');
    expect(code({ type: 'send', to: '*', group: 'G', seq: 1.5 })).toBe('ERR_FIELD_TYPE');
    expect(code({ type: 'send', to: '*', group: 'G', seq: 1, want_answer: 'yes' })).toBe('ERR_FIELD_TYPE');
  });

  it('unknown_type: refused, and server-only types are not client types', () => {
    expect(code({ type: 'shout' })).toBe('ERR_UNKNOWN_TYPE');
    expect(code({ type: 'pong' })).toBe('ERR_UNKNOWN_TYPE');
  });
});

describe('commands and answers', () => {
  it('round-trips BIND 10 shapes', () => {
    expect(createCommand('shutdown')).toEqual({ command: ['shutdown'] });
    expect(parseCommand(createCommand('print_message', { message: 'hi' }))).toEqual({
      name: 'print_message',
      args: { message: 'hi' },
    });
    expect(parseAnswer(createAnswer(0))).toEqual({ rcode: 0 });
    expect(answerValue(parseAnswer(createAnswer(0, [1])))).toEqual([1]);
  });

  it('error_answer: becomes an AnswerError with rcode and text', () => {
    const err = (() => {
      try {
        answerValue(parseAnswer(createAnswer(1, 'Unknown command')));
      } catch (e) {
        return e as AnswerError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(AnswerError);
    expect(err?.rcode).toBe(1);
    expect(err?.message).toBe('Unknown command');
  });

  it('malformed_command: refused', () => {
    expect(() => parseCommand({ command: [] })).toThrow(ProtocolError);
    expect(() => parseCommand({ command: [1] })).toThrow(ProtocolError);
    expect(() => parseAnswer({ result: ['0'] })).toThrow(ProtocolError);
  });
});
