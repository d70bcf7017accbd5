import { RCODE_NO_RECIPIENT } from '../../protocol/message.js';

/**
 * What travels on a fleet's NATS subjects, as JSON (what NATS users read):
 * a command in BIND 10's shape, the bus answer it got with the host that
 * answered, and a bridge's answer to b10.hosts.
 */

/** On b10.<host>.<group> and b10.all.<group>: `{command: [name, args?]}`, as on the bus. */
export interface FleetRequest {
  command: [string] | [string, unknown];
}

/** A bridge's reply: its host and the local bus answer, `{result: [rcode, value?]}`. */
export interface FleetReply {
  host: string;
  answer: { result: [number] | [number, unknown] };
}

/** The bus's own answer when nobody receives a command: what a group a host does not export gets too. */
export const NO_RECIPIENT: FleetReply['answer'] = { result: [RCODE_NO_RECIPIENT, 'No such recipient'] };

/** A bridge's answer on b10.hosts. */
export interface HostInfo {
  host: string;
  export: string[];
  events: boolean;
}

/** On b10.<host>.events: the host, and the event as cmdctl's console gets it. */
export interface FleetEvent {
  host: string;
  event: string;
  [field: string]: unknown;
}
