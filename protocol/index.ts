/** The public face of b10's bus protocol: what modules, tools and tests import. */
export { Session, DEFAULT_MAX_HELD, DEFAULT_RECONNECT_WINDOW_MS } from './session.js';
export type { Message, SessionOptions, SendOptions, RequestOptions, ReconnectInfo, SessionEvents } from './session.js';
export type { Envelope, SendEnvelope, MessageType } from './envelope.js';
export { parseEnvelope, TO_ANY, INSTANCE_ANY } from './envelope.js';
export { cbor, json, detectCodec, codecFor } from './codec.js';
export type { Codec, Encoding } from './codec.js';
export { FrameDecoder, encodeFrame } from './framing.js';
export type { Frame } from './framing.js';
export {
  createCommand,
  parseCommand,
  createAnswer,
  parseAnswer,
  answerValue,
  createNotification,
  isNotification,
  RCODE_OK,
  RCODE_ERROR,
  RCODE_NO_RECIPIENT,
} from './message.js';
export type { Command, Answer } from './message.js';
export {
  B10Error,
  ProtocolError,
  ConnectionError,
  AuthError,
  ClosedError,
  TimeoutError,
  NoRecipientError,
  AnswerError,
  UsageError,
  SpecError,
  ValidationError,
  ConfigFileError,
} from './errors.js';
export type { B10ErrorCode, ProtocolErrorCode } from './errors.js';
export {
  DEFAULT_LIMITS,
  DEFAULT_MAX_QUEUE,
  DEFAULT_MSGQ_PORT,
  DEFAULT_MSGQ_HOST,
  DEFAULT_TIMEOUT_MS,
  MiB,
} from './limits.js';
export type { Limits } from './limits.js';
export { resolveMsgqPort, resolveMsgqTarget, describeTarget } from './transport.js';
export { resolveTokenFile, readTokenFile, TOKEN_FILE_NAME } from './token.js';
export { authFrame, AUTH_TYPE } from './handshake.js';
export type { MsgqTarget } from './transport.js';
export { MSGQ_GROUP, MEMBERS_GROUP, CONFIG_MANAGER, CONFIG_NOTIFICATIONS, BOSS, COMPONENT_EVENTS, COMPONENT_STATE } from './groups.js';
export { ModuleSession } from './module-session.js';
export type { ModuleSessionOptions, ConfigHandler, CommandHandler, RemoteConfigHandler } from './module-session.js';
export { parseModuleSpec, parseSpecText, loadSpecFile, commandSpec, ITEM_TYPES } from './spec.js';
export { ITEM_FORMATS } from './item-format.js';
export type { ItemFormat } from './item-format.js';
export type { ModuleSpec, ItemSpec, CommandSpec, ItemType } from './spec.js';
export {
  configProblems,
  configIssues,
  withoutIssues,
  itemAt,
  assertValidConfig,
  checkCommandArgs,
  withDefaults,
  mergeConfig,
  parsePath,
  formatPath,
  valueAt,
  setValueAt,
} from './config-data.js';
export type { Config, PathSegment, ConfigIssue } from './config-data.js';
