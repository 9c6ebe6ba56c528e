/** The tunnel's counters (since it started). */
export interface TunnelStats {
  /** redirected connections accepted on the outbound listeners */
  outboundAccepted: number;
  /** of which had no original destination (not redirected, or its record gone): reset */
  outboundNoDestination: number;
  /** of which the peer could not be reached, refused the identity, or did not answer in time: reset */
  outboundPeerFailed: number;
  /** of which the peer answered the CONNECT with an error (the destination refused, did not answer): reset */
  outboundRefused: number;
  /** CONNECT streams from peers */
  inboundStreams: number;
  /** peer sessions refused: their certificate's identity is not allowed */
  inboundIdentityRefused: number;
  /** streams whose destination could not be reached (answered 502/504) */
  inboundDialFailed: number;
  /** bytes carried from the clients to the peers, and back */
  bytesOut: number;
  bytesIn: number;
  /** sessions opened to peers (one per peer at a time: another once one closed) */
  peerSessionsOpened: number;
  /** connections being carried now */
  open: number;
}

export function emptyStats(): TunnelStats {
  return {
    outboundAccepted: 0,
    outboundNoDestination: 0,
    outboundPeerFailed: 0,
    outboundRefused: 0,
    inboundStreams: 0,
    inboundIdentityRefused: 0,
    inboundDialFailed: 0,
    bytesOut: 0,
    bytesIn: 0,
    peerSessionsOpened: 0,
    open: 0,
  };
}
