export { RawClient, frame, frameBytes, encodeValue, decodeValue } from '../../src/testing/raw-client.js';
export type { RawMessage, RawConnectOptions, Wire } from '../../src/testing/raw-client.js';
