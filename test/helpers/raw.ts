export { RawClient, frame, frameBytes, encodeValue, decodeValue } from '../../src/testing/raw-client.js';
export type { RawMessage, Wire } from '../../src/testing/raw-client.js';
