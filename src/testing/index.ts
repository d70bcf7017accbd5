/**
 * b10/testing: what a module's own tests need to test it at the bus level,
 * against the real msgq and config manager — no mocks.
 */
export { startBus, within } from './bus.js';
export type { Bus, BusOptions } from './bus.js';
export { startModule } from './module.js';
export type { ModuleOptions, ModuleProcess } from './module.js';
export { expectMessage } from './expect.js';
export { RawClient, frame, frameBytes, encodeValue, decodeValue } from './raw-client.js';
export type { RawMessage, RawConnectOptions, Wire } from './raw-client.js';
export { Proc, start, stopAll } from './process.js';
export type { LogLine } from './process.js';
