import { useOwnToken } from '../test/helpers/token.js';
import { benchClients, clientLines } from './session.js';

/** `node dist/bench/session-main.js`: the client library against nats.js alone (npm run build first). */
process.on('exit', useOwnToken());
for (const line of clientLines(await benchClients())) process.stdout.write(`${line}\n`);
