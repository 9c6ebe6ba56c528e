// Public API of @bpfsteer/core-bpf (part A: objects, programs, maps, codecs, pinning, BTF checks).
export {
  BpfError,
  ClosedError,
  InvalidArgumentError,
  MapLayoutError,
  NotFoundError,
  NotSupportedError,
  PinIncompatibleError,
  SyscallError,
  VerifierError,
  type BpfErrorCode,
} from './errors.js';
export {
  BpfObject,
  type LoadOptions,
  type MapLoadOptions,
  type MapSpec,
  type ObjectState,
  type OpenOptions,
  type ProgramLoadOptions,
  type ProgramSpec,
} from './bpf-object.js';
export type { ConstantValue } from './object-constants.js';
export { Program, type TestRunOptions, type TestRunResult } from './program.js';
export { BpfMap, type MapDefinition, type UpdateMode } from './bpf-map.js';
export type { MapExpectation } from './map-compat.js';
export type { MapInfo, ProgramInfo } from './object-info.js';
export type { MapType } from './map-type.js';
export type { ProgramType } from './program-type.js';
export { TypedMap, type ReconcileResult, type TypedMapOptions } from './typed-map.js';
export {
  defineSkeleton,
  loadSkeleton,
  type MapBinding,
  type Skeleton,
  type SkeletonMaps,
  type SkeletonSpec,
} from './skeleton.js';
export { codecs } from './codecs.js';
export { decodeValue, encodeValue, type Codec, type CodecLayout, type CodecValue, type PaddingCodec } from './codec/codec.js';
export type { StructOptions, StructValue } from './codec/struct-codec.js';
export { removePin } from './pin-path.js';
export { onLibbpfLog, type LibbpfLogLevel, type LibbpfLogListener } from './ffi/libbpf-log.js';
