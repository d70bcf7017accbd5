import { isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * The forms a string item can be required to take (`item_format` in a
 * spec), each with what the value must be and how a refusal reads. Every
 * form refuses the empty string: an empty address binds every interface,
 * an empty name or path means nothing.
 */

/** One label of a host name (RFC 1123): letters, digits and hyphens, no hyphen at either end. */
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** One label of a domain name in presentation form: any printable character but the dot, at most 63. */
const DOMAIN_LABEL = /^[\x21-\x2d\x2f-\x7e]{1,63}$/;

/** Splits a name with an optional trailing dot into its labels; undefined when it is too long to be one. */
function nameLabels(value: string): string[] | undefined {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name === '' || name.length > 253) return undefined;
  return name.split('.');
}

function isHostname(value: string): boolean {
  const labels = nameLabels(value);
  // An all-numeric last label would make 999.1.1.1 a host name rather than a bad address.
  return labels !== undefined && labels.every((l) => HOST_LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

function isDomainName(value: string): boolean {
  if (value === '.') return true;
  const labels = nameLabels(value);
  return labels !== undefined && labels.every((l) => DOMAIN_LABEL.test(l));
}

const FORMATS = {
  ipaddress: { test: (v: string) => isIP(v) !== 0, is: 'an IP address' },
  ipv4: { test: isIPv4, is: 'an IPv4 address' },
  ipv6: { test: isIPv6, is: 'an IPv6 address' },
  hostname: { test: isHostname, is: 'a host name' },
  address: { test: (v: string) => isIP(v) !== 0 || isHostname(v), is: 'an IP address or a host name' },
  domainname: { test: isDomainName, is: 'a domain name' },
  path: { test: (v: string) => v !== '' && !v.includes('\0'), is: 'a file path' },
} satisfies Record<string, { test: (value: string) => boolean; is: string }>;

export type ItemFormat = keyof typeof FORMATS;
export const ITEM_FORMATS = Object.keys(FORMATS) as ItemFormat[];

export function isItemFormat(value: unknown): value is ItemFormat {
  return typeof value === 'string' && Object.hasOwn(FORMATS, value);
}

/** Why `value` is not of `format` ("is not an IP address"), or undefined when it is. */
export function formatProblem(format: ItemFormat, value: string): string | undefined {
  const { test, is } = FORMATS[format];
  return test(value) ? undefined : `is not ${is}`;
}
