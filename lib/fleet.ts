/**
 * The fleet's private network (issue 15): which address each machine takes, decided here at plan time.
 *
 * Hetzner lets a server and a load balancer ask for a fixed private address. So nginx's trusted proxy, the ufw
 * rules and PostgreSQL's listen address and pg_hba are plain values at the first `pulumi preview`. The pack judges
 * them there, before any server exists. Pure.
 */
import * as ipaddr from "ipaddr.js";
import { parseCidr } from "./net";

/** Where every member of the fleet sits on the private network. */
export type FleetPlan = {
    /** The whole private network (hcloud Network ipRange), e.g. `10.0.0.0/16`. */
    readonly networkCidr: string;
    /** The subnet the machines and the load balancer join: the network's first /24. */
    readonly subnetCidr: string;
    /** The load balancer's private address; absent for a single app server, which takes traffic itself. */
    readonly loadBalancerIp?: string;
    /** One private address per app server, in index order. */
    readonly appIps: readonly string[];
    /** The database server's private address; absent when PostgreSQL runs on the first app server. */
    readonly databaseIp?: string;
};

/** Host offsets inside the subnet. `.1` is Hetzner's gateway; the app servers take `.10` to `.19`. */
const OFFSET = { loadBalancer: 2, database: 3, firstApp: 10 } as const;
/** The most app servers a plan addresses (the serverCount limit). */
export const MAX_APP_SERVERS = 10;

const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((c) => ipaddr.IPv4.parseCIDR(c));

/** Why a CIDR cannot be the fleet's private network, or undefined when it can. */
export function privateNetworkProblem(cidr: string): string | undefined {
    const parsed = parseCidr(cidr);
    if ("error" in parsed) return `${JSON.stringify(cidr)} ${parsed.error}`;
    if (parsed.family !== "ipv4") return `${JSON.stringify(cidr)} is IPv6; private networks are IPv4`;
    const [addr] = ipaddr.IPv4.parseCIDR(parsed.network);
    if (!RFC1918.some((range) => addr.match(range) && parsed.prefixLength >= range[1])) {
        return `${JSON.stringify(cidr)} is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, RFC 1918)`;
    }
    if (parsed.prefixLength > 24) return `${JSON.stringify(cidr)} is smaller than a /24, too small for a subnet of the fleet`;
    return undefined;
}

/** The address `offset` hosts into an IPv4 network. */
function hostAt(network: string, offset: number): string {
    const bytes = ipaddr.IPv4.parseCIDR(network)[0].toByteArray();
    const value = ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3] + offset;
    return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/**
 * The fleet's addresses for `appServers` app servers, with or without a database server of its own. A load
 * balancer is planned when there is more than one app server. Throws on a network that
 * {@link privateNetworkProblem} refuses (config validation reports those first, with the key).
 */
export function fleetPlan(a: { networkCidr: string; appServers: number; dedicatedDatabase: boolean }): FleetPlan {
    const problem = privateNetworkProblem(a.networkCidr);
    if (problem) throw new Error(`private network: ${problem}`);
    if (!Number.isInteger(a.appServers) || a.appServers < 1 || a.appServers > MAX_APP_SERVERS) {
        throw new Error(`a fleet has 1 to ${MAX_APP_SERVERS} app servers, not ${a.appServers}`);
    }
    const network = (parseCidr(a.networkCidr) as { network: string }).network;
    const subnetCidr = `${network.split("/")[0]}/24`;
    return {
        networkCidr: network,
        subnetCidr,
        loadBalancerIp: a.appServers > 1 ? hostAt(subnetCidr, OFFSET.loadBalancer) : undefined,
        appIps: Array.from({ length: a.appServers }, (_, i) => hostAt(subnetCidr, OFFSET.firstApp + i)),
        databaseIp: a.dedicatedDatabase ? hostAt(subnetCidr, OFFSET.database) : undefined,
    };
}

/**
 * The plan of a fleet of existing hosts: the addresses the user gives (config validation checks them against the
 * network), in the same shape as {@link fleetPlan}'s. The network has no subnet of ours: it is the user's.
 */
export function existingFleetPlan(a: { networkCidr: string; appIps: readonly string[]; databaseIp?: string; loadBalancerIp?: string }): FleetPlan {
    if (a.appIps.length > 1 && !a.loadBalancerIp) throw new Error("a fleet of existing hosts needs the load balancer's address");
    return { networkCidr: a.networkCidr, subnetCidr: a.networkCidr, loadBalancerIp: a.appIps.length > 1 ? a.loadBalancerIp : undefined, appIps: [...a.appIps], databaseIp: a.databaseIp || undefined };
}

/** Hetzner's network zone of each location: the subnet and the load balancer must be in the servers' zone. */
export const HCLOUD_NETWORK_ZONES: Readonly<Record<string, string>> = {
    fsn1: "eu-central",
    nbg1: "eu-central",
    hel1: "eu-central",
    ash: "us-east",
    hil: "us-west",
    sin: "ap-southeast",
};

/**
 * The load balancer's health check: every `intervalSeconds`, a target that fails `retries` checks in a row more
 * leaves the rotation; `timeoutSeconds` per check. A draining server is out after about
 * `(retries + 1) * intervalSeconds`.
 */
export const HEALTH_CHECK = { intervalSeconds: 5, timeoutSeconds: 3, retries: 2 } as const;

/** How one app server of a fleet restarts its app without failing a request (lib/fleet.ts `rollingRestart`). */
export type RollingRestart = {
    /** The file whose presence makes nginx's health listener answer 503 (lib/render/nginx.ts `drainFile`). */
    drainFile: string;
    /** Seconds from draining until the load balancer has taken the server out and its requests have finished. */
    drainSeconds: number;
    /** Seconds from healthy again until the load balancer sends traffic again. */
    settleSeconds: number;
    /** Seconds the restarted app has to answer its health path before the step fails. Default: 60. */
    healthTimeoutSeconds?: number;
};

/** The waits for Hetzner's load balancer with {@link HEALTH_CHECK}: out after its failed checks, back after one good one. */
export const HCLOUD_ROLLING = {
    drainSeconds: (HEALTH_CHECK.retries + 1) * HEALTH_CHECK.intervalSeconds + HEALTH_CHECK.timeoutSeconds + 2,
    settleSeconds: 2 * HEALTH_CHECK.intervalSeconds,
} as const;

/**
 * Bash lines that restart a running app on one server of a fleet: drain (the health listener answers 503 until the
 * load balancer has taken the server out), restart, wait until the app answers its health path, undrain, and wait
 * until the load balancer sends traffic again. An app that does not come back fails the step, so `pulumi up` stops
 * before the next server (each server's steps wait for the previous one's). A stopped app is left stopped.
 */
export function rollingRestart(a: { unit: string; port: number; healthPath: string; rolling: RollingRestart }): string[] {
    const health = `curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:${a.port}${a.healthPath}`;
    const timeout = a.rolling.healthTimeoutSeconds ?? 60;
    return [
        `if systemctl is-active --quiet ${a.unit}; then`,
        `    touch ${a.rolling.drainFile}`,
        `    log "draining for ${a.rolling.drainSeconds} s"`,
        `    sleep ${a.rolling.drainSeconds}`,
        `    systemctl restart ${a.unit}`,
        "    healthy=0",
        `    for _ in $(seq ${timeout}); do if ${health}; then healthy=1; break; fi; sleep 1; done`,
        `    rm -f ${a.rolling.drainFile}`,
        `    if [ "$healthy" != 1 ]; then echo "${a.unit} is not healthy ${timeout} s after its restart; the other servers keep serving" >&2; exit 1; fi`,
        `    sleep ${a.rolling.settleSeconds}`,
        `    log "restarted ${a.unit} behind the load balancer"`,
        "fi",
    ];
}
