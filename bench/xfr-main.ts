import { benchAxfr } from './axfr.js';
import { benchZoneLoad } from './zoneload.js';
import { useOwnToken } from '../test/helpers/token.js';

/** `node dist/bench/xfr-main.js [axfr|zoneload]`: the zone transfer and zone load benches alone (both by default). */
process.on('exit', useOwnToken());
const which = process.argv[2];
if (which !== 'zoneload') console.log('axfr', await benchAxfr());
if (which !== 'axfr') console.log('zoneload', await benchZoneLoad(Number(process.env.B10_ZONELOAD_RECORDS) || undefined));
