export { NetLab, type VethEnd, type ExchangeResult, type Listener, type Protocol } from './net-lab.js';
export { LabCommandError, run, tryRun, type CommandResult } from './run-command.js';
export { buildAsymmetricRoutingLab, type AsymmetricRoutingLab, type AsymmetricPlan } from './asymmetric-routing-lab.js';
export { ipFrame, ipv4Frame, ipv6Frame, type FrameOptions, type FrameProtocol } from './frames.js';
export { startZitiListener, zitiListenerBinary, type ZitiListener } from './ziti-listener.js';
export { startNotifyReceiver, type NotifyReceiver } from './notify-receiver.js';
export { startRouterStandIn, type DiverterRun, type RouterStandIn, type RouterStandInOptions } from './router-stand-in.js';
export { tcpClient, type TcpClientOptions, type TcpClientResult } from './marked-tcp-client.js';
export { monotonicNsAgo } from './monotonic-ns-ago.js';
