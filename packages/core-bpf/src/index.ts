// Public API of @bpfsteer/core-bpf. Nothing FFI-shaped (pointers, koffi types, raw structs) is exported.

// Errors
export {
  BpfError,
  ClosedError,
  InvalidArgumentError,
  MapLayoutError,
  NotFoundError,
  NotPermittedError,
  NotSupportedError,
  PinIncompatibleError,
  SyscallError,
  VerifierError,
  type BpfErrorCode,
} from './errors.js';

// Objects, programs, maps, codecs, pinning
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
export {
  DataplaneLifecycle,
  startDataplane,
  type DataplaneLifecycleOptions,
  type DataplaneLoadOptions,
  type DataplaneMapOptions,
  type DataplaneStage,
  type SkeletonOf,
} from './dataplane-lifecycle.js';
export { codecs } from './codecs.js';
export { decodeValue, encodeValue, type Codec, type CodecLayout, type CodecValue, type PaddingCodec } from './codec/codec.js';
export type { StructOptions, StructValue } from './codec/struct-codec.js';
export { RingBuffer, type RingBufferOptions } from './ring-buffer.js';
export { removePin } from './pin-path.js';
export { onLibbpfLog, type LibbpfLogLevel, type LibbpfLogListener } from './ffi/libbpf-log.js';

// Links and system helpers
export { AlreadyAttachedError } from './errors.js';
export type { Link, LinkType, ProgramRef } from './link.js';
export { attachNetns, type AttachNetnsOptions } from './attach-netns.js';
export { attachTc, autoTcLinkType, type AttachTcOptions, type TcMode } from './attach-tc.js';
export { NETLINK_TC_PRIORITY, type TcDirection } from './netlink-tc-link.js';
export { attachCgroup, type AttachCgroupOptions, type CgroupAttachType } from './attach-cgroup.js';
export { openPinnedLink, type OpenPinnedLinkOptions } from './open-pinned-link.js';
export { detachPinnedLinks, removeEmptyPinDir } from './pin-dir.js';
export { keepsLink, releaseLink, type ReleaseLinkOptions } from './release-link.js';
export { NetnsHandle, withNetns } from './netns.js';
export { ifIndex, ifName, interfaceAddresses, interfaceNames, type InterfaceAddress } from './interfaces.js';
export { NetlinkChangeWatch, type NetlinkChangeWatchOptions } from './netlink-change-watch.js';
export { cgroup2Mounts, cgroup2Root, cgroupId, createCgroup, removeCgroup, moveToCgroup, resolveCgroupPath } from './cgroup.js';
export { inHostCgroupNamespace, wholeCgroup2Mount } from './cgroup-namespace.js';
export { setSocketMark, getSocketMark, setIpTransparent } from './socket-options.js';
export { sendFds, receiveFds, socketPair, MAX_FDS_PER_MESSAGE, type ReceivedFds } from './fd-passing.js';
export { probeFeature, requireFeature, knownFeatures, type Feature, type FeatureProbe } from './features.js';
export { effectiveCapabilities, hasCapability, missingBpfPrivilege, missingVerifierPrivilege } from './capabilities.js';
export { tcxPrograms, type AttachedProgram } from './tcx-programs.js';
export {
  BPFSTEER_NEIGH_PROTOCOL,
  deleteNeighbour,
  listNeighbours,
  setManagedNeighbour,
  type DeleteNeighbourOptions,
  type ListNeighboursOptions,
  type Neighbour,
  type NeighbourState,
  type NeighbourTarget,
  type SetManagedNeighbourOptions,
} from './neighbours.js';

// Unix SOCK_SEQPACKET sockets with fds, socket inspection, sock_diag, pidfd, fd lifetimes
export {
  SeqpacketSocket,
  type SeqpacketHandlers,
  type SeqpacketMessage,
  type SeqpacketSocketOptions,
} from './seqpacket-socket.js';
export { SeqpacketServer, type SeqpacketListenOptions } from './seqpacket-server.js';
export { notifyServiceManager } from './service-manager-notify.js';
export { originalDestination, socketInfo, peerCredentials, type PeerCredentials, type SocketFamily, type SocketInfo, type SocketType } from './socket-info.js';
export { tcpListeners, udpListeners, type TcpListenerSocket, type TcpListenersOptions } from './sock-diag.js';
export { socketOwners, type SocketOwner, type SocketOwnersOptions } from './socket-owners.js';
export { duplicateFdFromProcess, pidfdGetfd, pidfdOpen } from './pidfd.js';
export { OwnedFd, dupFd, fdInode, fdPath, isFdOpen } from './fd-lifetime.js';
export { isNetnsFd, netnsFdInode, socketNetnsInode } from './netns-fd.js';
export {
  SocketHandles,
  identifyFd,
  type FdIdentity,
  type HandleCommitter,
  type RegisterOptions,
  type SocketHandleKind,
  type SocketHandleRegistry,
  type SocketHandleResolver,
  type SocketHandlesDeps,
} from './socket-handles.js';
