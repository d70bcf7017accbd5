import { afterAll } from 'vitest';
import { stopAll } from './helpers/processes.js';
import { useOwnToken } from './helpers/token.js';

// A stack the boss starts writes a token of its own, which test/helpers/stack.ts passes on.
const removeToken = useOwnToken();

// The safety net: whatever a test file started is gone when the file ends.
afterAll(async () => {
  await stopAll();
  removeToken();
});
