import { benchBoss, bossReport } from './boss.js';

/** `node dist/bench/boss-main.js`: the boss's figures alone (cold start, restart, shutdown), as `npm run bench` prints them. */
for (const line of bossReport(await benchBoss())) process.stdout.write(`${line}\n`);
