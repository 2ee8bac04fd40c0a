/**
 * Address parsing and the firewall rule set, as pure functions.
 *
 * CIDRs are parsed with ipaddr.js (a real parser, not a regex). IPv4 must be in four-part dotted decimal:
 * ipaddr.js also accepts legacy forms such as `10.1/8` or octal parts, which no cloud firewall API does.
 */
import * as ipaddr from "ipaddr.js";

export type ParsedCidr = {
    /** The CIDR as given. */
    readonly input: string;
    /** The canonical network form (host bits cleared, IPv6 compressed), e.g. `203.0.113.0/24`. */
    readonly network: string;
    readonly family: "ipv4" | "ipv6";
    readonly prefixLength: number;
};

/** Parses a CIDR; returns an error string instead of throwing so config validation can name the key. */
export function parseCidr(input: string): ParsedCidr | { error: string } {
    const text = input.trim();
    if (!text.includes("/")) {
        return { error: "has no prefix length (write a single address as /32 for IPv4 or /128 for IPv6)" };
    }
    const isV6 = text.includes(":");
    const valid = isV6 ? ipaddr.IPv6.isValidCIDR(text) : ipaddr.IPv4.isValidCIDRFourPartDecimal(text);
    if (!valid) {
        return { error: `is not a valid ${isV6 ? "IPv6" : "IPv4"} CIDR` };
    }
    const [addr, prefixLength] = ipaddr.parseCIDR(text);
    const network = isV6
        ? `${ipaddr.IPv6.networkAddressFromCIDR(text).toString()}/${prefixLength}`
        : `${ipaddr.IPv4.networkAddressFromCIDR(text).toString()}/${prefixLength}`;
    const given = `${addr.toString()}/${prefixLength}`;
    if (given !== network) {
        return { error: `has host bits set; the network is ${network}` };
    }
    return { input, network, family: addr.kind() === "ipv6" ? "ipv6" : "ipv4", prefixLength };
}

/** Whether an IPv4 network (CIDR) contains an IPv4 address. */
export function cidrContains(cidr: string, address: string): boolean {
    if (!ipaddr.IPv4.isValidFourPartDecimal(address) || !ipaddr.IPv4.isValidCIDRFourPartDecimal(cidr)) return false;
    return ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(cidr));
}

/** True for a CIDR that matches every address of its family (`0.0.0.0/0`, `::/0`). */
export function isWorldCidr(cidr: string): boolean {
    const parsed = parseCidr(cidr);
    return "network" in parsed && parsed.prefixLength === 0;
}

export const WORLD_IPV4 = "0.0.0.0/0";
export const WORLD_IPV6 = "::/0";
export const WORLD = [WORLD_IPV4, WORLD_IPV6] as const;

/** One inbound rule, provider-neutral. */
export type InboundRule = {
    readonly description: string;
    readonly protocol: "tcp";
    readonly port: number;
    readonly sources: readonly string[];
};

/**
 * What a server is in the topology, for its firewall rules:
 * - `standalone`: an app server that takes web traffic itself (one server, no load balancer);
 * - `behind-load-balancer`: an app server of a fleet; web traffic and health checks come from the load balancer's
 *   private address only;
 * - `database`: the database server of a fleet; PostgreSQL only from the app servers' private addresses.
 */
export type FirewallRole =
    | { readonly kind: "standalone" }
    | {
          readonly kind: "behind-load-balancer";
          /** Where the load balancer connects from: its private address, or a CIDR (an AWS load balancer's subnets). */
          readonly loadBalancer: string;
          readonly healthPort: number;
          /** Fleet peers that push the shared certificate over SSH (the first app server, to the others). */
          readonly sshFrom?: readonly string[];
          /** Fleet peers that pass ACME challenges on to this server's health listener (the others, to the first). */
          readonly healthFrom?: readonly string[];
      }
    | { readonly kind: "database"; readonly clients: readonly string[] };

/**
 * The public inbound rule set (NET-1), for the cloud firewall and ufw: SSH only from the admin CIDRs, and HTTP and
 * HTTPS from anywhere for a standalone app server only. The database port and the app port never appear here
 * (NET-2, NET-4); behind a load balancer the web ports are not public at all (NET-6).
 */
export function inboundRules(args: { sshPort: number; adminCidrs: readonly string[]; role?: FirewallRole }): InboundRule[] {
    const web: InboundRule[] = [
        { description: "HTTP (redirect to HTTPS, ACME challenge)", protocol: "tcp", port: 80, sources: [...WORLD] },
        { description: "HTTPS", protocol: "tcp", port: 443, sources: [...WORLD] },
    ];
    return [
        ...((args.role ?? { kind: "standalone" }).kind === "standalone" ? web : []),
        { description: "SSH from the admin networks", protocol: "tcp", port: args.sshPort, sources: [...args.adminCidrs] },
    ];
}

/**
 * Rules for the private network, in ufw only: Hetzner's cloud firewalls filter the public interfaces, not the
 * private network, so the host decides who there may connect.
 */
export function privateRules(role: FirewallRole = { kind: "standalone" }, sshPort = 22): InboundRule[] {
    switch (role.kind) {
        case "standalone":
            return [];
        case "behind-load-balancer": {
            const fromLb = (port: number, description: string): InboundRule => ({ description, protocol: "tcp", port, sources: [asCidr(role.loadBalancer)] });
            return [
                fromLb(80, "HTTP from the load balancer"),
                fromLb(443, "HTTPS from the load balancer"),
                fromLb(role.healthPort, "Health checks from the load balancer"),
                ...(role.healthFrom?.length ? [{ description: "ACME challenges from the other app servers", protocol: "tcp" as const, port: role.healthPort, sources: role.healthFrom.map((a) => `${a}/32`) }] : []),
                ...(role.sshFrom?.length ? [{ description: "Certificate push from the first app server", protocol: "tcp" as const, port: sshPort, sources: role.sshFrom.map((a) => `${a}/32`) }] : []),
            ];
        }
        case "database":
            return [{ description: "PostgreSQL from the app servers", protocol: "tcp", port: 5432, sources: role.clients.map((c) => `${c}/32`) }];
    }
}

/** An IPv4 address as its /32, a CIDR as it is. */
export const asCidr = (source: string) => (source.includes("/") ? source : `${source}/32`);

/** Splits sources by family, as AWS security groups want them (`cidrBlocks` / `ipv6CidrBlocks`). */
export function splitByFamily(sources: readonly string[]): { ipv4: string[]; ipv6: string[] } {
    return {
        ipv4: sources.filter((s) => !s.includes(":")),
        ipv6: sources.filter((s) => s.includes(":")),
    };
}
