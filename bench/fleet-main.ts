import { useOwnToken } from '../test/helpers/token.js';
import { benchFleet, fleetLines } from './fleet.js';

/** `node dist/bench/fleet-main.js`: the fleet round trips alone (npm run build first). */
process.on('exit', useOwnToken());
for (const line of fleetLines(await benchFleet())) process.stdout.write(`${line}\n`);
