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
    /**
     * The load balancer's private address (hcloud, existing hosts); absent for a single app server, which takes traffic
     * itself, and on AWS, where a network load balancer has no fixed private address.
     */
    readonly loadBalancerIp?: string;
    /**
     * Where the load balancer's connections come from, for ufw, security groups and nginx's trusted proxy: its private
     * address, or on AWS the CIDR of its own subnets (its nodes take addresses there, nothing else runs in them).
     * Absent without a load balancer.
     */
    readonly loadBalancerFrom?: string;
    /**
     * AWS: the fleet VPC's subnets, one pair per availability zone: the app servers' (app server i in zone i % 2, at
     * {@link appIps}[i]) and the load balancer's. Absent on hcloud and for existing hosts.
     */
    readonly zones?: readonly { readonly appSubnet: string; readonly loadBalancerSubnet: string }[];
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
    const loadBalancerIp = a.appServers > 1 ? hostAt(subnetCidr, OFFSET.loadBalancer) : undefined;
    return {
        networkCidr: network,
        subnetCidr,
        loadBalancerIp,
        loadBalancerFrom: loadBalancerIp,
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
    const loadBalancerIp = a.appIps.length > 1 ? a.loadBalancerIp : undefined;
    return { networkCidr: a.networkCidr, subnetCidr: a.networkCidr, loadBalancerIp, loadBalancerFrom: loadBalancerIp, appIps: [...a.appIps], databaseIp: a.databaseIp || undefined };
}

/** The smallest private network an AWS fleet fits in: two app subnets and the load balancer's, a /24 each. */
export const AWS_FLEET_MIN_PREFIX = 22;

/** Why a CIDR cannot be an AWS fleet's VPC, or undefined when it can. */
export function awsFleetNetworkProblem(cidr: string): string | undefined {
    const problem = privateNetworkProblem(cidr);
    if (problem) return problem;
    const parsed = parseCidr(cidr) as { prefixLength: number };
    if (parsed.prefixLength > AWS_FLEET_MIN_PREFIX) return `${JSON.stringify(cidr)} is smaller than a /${AWS_FLEET_MIN_PREFIX}, too small for the AWS fleet's three /24 subnets`;
    if (parsed.prefixLength < 16) return `${JSON.stringify(cidr)} is larger than a /16, the largest VPC AWS allows`;
    return undefined;
}

/**
 * The addresses of an AWS fleet (issue 15) in a VPC of its own: the network's first two /24s are the app servers'
 * subnets in two availability zones (RDS's subnet group needs two), and the third /24 holds the load balancer's
 * two /27 subnets. A network load balancer's nodes take their private addresses in its subnets at creation, so what
 * ufw, the security group and nginx trust is those subnets' /26: known at plan time, and holding nothing else.
 * The app servers' addresses are fixed like Hetzner's: app server i in zone i % 2 at offset 10 + i.
 */
export function awsFleetPlan(a: { networkCidr: string; appServers: number }): FleetPlan {
    const problem = awsFleetNetworkProblem(a.networkCidr);
    if (problem) throw new Error(`private network: ${problem}`);
    if (!Number.isInteger(a.appServers) || a.appServers < 1 || a.appServers > MAX_APP_SERVERS) {
        throw new Error(`a fleet has 1 to ${MAX_APP_SERVERS} app servers, not ${a.appServers}`);
    }
    const network = (parseCidr(a.networkCidr) as { network: string }).network;
    const base = network.split("/")[0];
    const appSubnets = [0, 1].map((k) => `${hostAt(`${base}/32`, k * 256)}/24`);
    const lbBlock = hostAt(`${base}/32`, 2 * 256);
    const zones = [0, 1].map((k) => ({ appSubnet: appSubnets[k], loadBalancerSubnet: `${hostAt(`${lbBlock}/32`, k * 32)}/27` }));
    return {
        networkCidr: network,
        subnetCidr: appSubnets[0],
        loadBalancerFrom: a.appServers > 1 ? `${lbBlock}/26` : undefined,
        appIps: Array.from({ length: a.appServers }, (_, i) => hostAt(appSubnets[i % 2], OFFSET.firstApp + i)),
        zones,
    };
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

/**
 * The AWS network load balancer's health check per target group: every `intervalSeconds`, out after
 * `unhealthyThreshold` failed checks in a row, back after `healthyThreshold` good ones; `timeoutSeconds` per check.
 */
export const AWS_HEALTH_CHECK = { intervalSeconds: 10, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2 } as const;

/**
 * The waits for the AWS network load balancer with {@link AWS_HEALTH_CHECK}: out after its failed checks (each of its
 * nodes checks on its own, so one more interval), back after its good ones.
 */
export const AWS_ROLLING = {
    drainSeconds: (AWS_HEALTH_CHECK.unhealthyThreshold + 1) * AWS_HEALTH_CHECK.intervalSeconds + AWS_HEALTH_CHECK.timeoutSeconds + 2,
    settleSeconds: (AWS_HEALTH_CHECK.healthyThreshold + 1) * AWS_HEALTH_CHECK.intervalSeconds,
} as const;

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
