import { InvalidArgumentError } from 'commander';
import { type CommandRegistration, ExitCode } from '../cli-context.js';
import { AMBIENT_DEFAULTS } from '../manifests/ambient-agent-config.js';

/** A DNS-1123 label (a namespace name). */
function namespaceName(value: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) throw new InvalidArgumentError('not a namespace name (lower-case letters, digits and "-", at most 63)');
  return value;
}

function nonEmpty(value: string): string {
  if (value.trim() === '' || /\s/.test(value)) throw new InvalidArgumentError('must be one word, not empty');
  return value;
}

/**
 * `bpfsteer manifests ambient [--namespace NS] [--image IMAGE] [--istiod ADDRESS] [--network NAME]`
 * prints what an ambient Kubernetes node needs (for `kubectl apply -f -`); `bpfsteer manifests
 * ztunnel-patch [--rollback]` the change of ztunnel's DaemonSet (for `kubectl patch --patch-file`).
 */
export const manifestsCommand: CommandRegistration = (program, context) => {
  const manifests = program.command('manifests').description('print Kubernetes manifests: ambient (the agent on every node), ztunnel-patch');
  manifests
    .command('ambient')
    .description("the agent's ServiceAccount, ConfigMap and DaemonSet for an Istio ambient cluster (kubectl apply -f -)")
    .option('-n, --namespace <namespace>', "the agent's namespace (Istiod serves a proxy whose token is of its own namespace)", namespaceName, AMBIENT_DEFAULTS.namespace)
    .option('--image <image>', "the agent's image", nonEmpty, AMBIENT_DEFAULTS.image)
    .option('--istiod <address>', "Istiod's xDS address", nonEmpty, AMBIENT_DEFAULTS.istiod)
    .option('--network <name>', "the nodes' mesh network (values.global.network)", AMBIENT_DEFAULTS.network)
    .action(async (opts: { namespace: string; image: string; istiod: string; network: string }) => {
      // (yaml and the manifests' module only when printing)
      const { ambientManifests, yamlStream } = await import('../manifests/ambient-manifests.js');
      context.stdout.write(yamlStream(ambientManifests(opts)));
      context.exitCode = ExitCode.ok;
    });
  manifests
    .command('ztunnel-patch')
    .description("the patch of ztunnel's DaemonSet that points its ZDS socket (INPOD_UDS) at the agent; --rollback: back at istio-cni")
    .option('--rollback', "point ztunnel back at istio-cni's socket")
    .action(async (opts: { rollback?: boolean }) => {
      const { yamlStream, ztunnelPatch } = await import('../manifests/ambient-manifests.js');
      context.stdout.write(yamlStream([ztunnelPatch(opts.rollback === true)]));
      context.exitCode = ExitCode.ok;
    });
};
