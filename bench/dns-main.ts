import { useOwnToken } from '../test/helpers/token.js';
import { benchDns, dnsReport } from './dns.js';

/** `node dist/bench/dns-main.js`: the auth vs BIND 9 part of `npm run bench` alone. */
process.on('exit', useOwnToken());
for (const line of dnsReport(await benchDns())) process.stdout.write(`${line}\n`);
