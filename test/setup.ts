import { afterAll } from 'vitest';
import { stopAll } from './helpers/processes.js';

// The safety net: whatever a test file started is gone when the file ends.
afterAll(stopAll);
