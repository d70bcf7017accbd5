import { useOwnToken } from '../test/helpers/token.js';
import { workersRssLines } from './workers-rss.js';

/** `node dist/bench/workers-rss-main.js`: the workers' memory bench alone. */
process.on('exit', useOwnToken());
for (const line of await workersRssLines()) process.stdout.write(`${line}\n`);
