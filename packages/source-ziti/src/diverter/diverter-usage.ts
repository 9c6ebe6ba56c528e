/** The help texts of bpfsteer-diverter and its older names. */
import type { InvokedAs } from './parse-diverter-args.js';

const diverter = `Usage: bpfsteer-diverter COMMAND [OPTIONS]
Talks to the bpfsteer agent's ziti source (the tproxy firewall of an OpenZiti router).

Commands:
  -V, --version                 print the version; exits 0 only when the agent answers
  -I, --insert RULE -t PORT [-s ID] [-N IF]...   insert (or update) a rule; -t 0 = pass-through
  -I, --insert RULE -d [-N IF]...                insert a deny rule
  -D, --delete RULE [-N IF]...  delete a rule (without -h: every rule with that low port);
                                with -N only remove those interfaces from it
  -L, --list [-i|-f] [--json]   list the rules with counters (-i intercepts, -f pass-through)
  -L -E [--json]                list the interfaces with their settings and counters
  -F, --flush                   remove every rule
  -e, --icmp-echo IF            allow ICMP echo requests on IF
  -x, --disable-ssh IF          stop letting SSH to IF's own addresses in
  -M, --monitor [--json]        print datapath events until interrupted
      --help                    this text
RULE:
  -c, --cidr-block IP  [-m, --dprefix-len LEN]   destination (a bare IP is /32 or /128)
  [-o, --ocidr-block IP -n, --oprefix-len LEN]   source (default any)
  -p, --protocol tcp|udp  -l, --low-port PORT  [-h, --high-port PORT (default: low)]
Agent:
  --socket PATH (env BPFSTEER_ZITI_SOCKET, default /run/bpfsteer/ziti.sock)
  --url http://HOST:PORT (env BPFSTEER_ZITI_URL) with --token-file FILE or env BPFSTEER_ZITI_TOKEN
Exit status: 0 done, 1 the agent refused or is not reachable, 2 usage error.
Also runs as map_update / map_delete (the older positional forms).`;

const mapUpdate = `Usage: map_update <ip> <prefix-len> <low-port> <high-port> <tproxy-port> <6|17>
       map_update -I -c IP -m LEN -l LOW [-h HIGH] -t PORT -p tcp|udp
       map_update -D -c IP -m LEN -l LOW [-h HIGH] -p tcp|udp
tproxy-port 0 makes a pass-through rule. Options --socket/--url/--token-file as bpfsteer-diverter.
Exit status: 0 done, 1 the agent refused or is not reachable, 2 usage error.`;

const mapDelete = `Usage: map_delete <ip> <prefix-len> <low-port> <6|17>
       map_delete -D -c IP -m LEN -l LOW [-h HIGH] -p tcp|udp
Deletes every rule of that destination and protocol with that low port (default source).
Exit status: 0 done, 1 the agent refused or is not reachable, 2 usage error.`;

export function usageText(as: InvokedAs): string {
  return as === 'map_update' ? mapUpdate : as === 'map_delete' ? mapDelete : diverter;
}

/** What a usage error prints after the problem. */
export function shortUsage(as: InvokedAs): string {
  if (as !== 'bpfsteer-diverter') return usageText(as);
  return `Usage: bpfsteer-diverter -V | -I RULE (-t PORT | -d) [-s ID] [-N IF]... | -D RULE [-N IF]... | -L [-i|-f|-E] [--json] | -F | -e IF | -x IF | -M
RULE: -c IP [-m LEN] [-o IP -n LEN] -p tcp|udp -l LOW [-h HIGH]     (bpfsteer-diverter --help for more)`;
}
