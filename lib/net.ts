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
 * The public inbound rule set of every app server (NET-1): HTTP and HTTPS from anywhere, SSH only from the
 * admin CIDRs, nothing else. The database port and the app port never appear here (NET-2, NET-4).
 */
export function inboundRules(args: { sshPort: number; adminCidrs: readonly string[] }): InboundRule[] {
    return [
        { description: "HTTP (redirect to HTTPS, ACME challenge)", protocol: "tcp", port: 80, sources: [...WORLD] },
        { description: "HTTPS", protocol: "tcp", port: 443, sources: [...WORLD] },
        { description: "SSH from the admin networks", protocol: "tcp", port: args.sshPort, sources: [...args.adminCidrs] },
    ];
}

/** Splits sources by family, as AWS security groups want them (`cidrBlocks` / `ipv6CidrBlocks`). */
export function splitByFamily(sources: readonly string[]): { ipv4: string[]; ipv6: string[] } {
    return {
        ipv4: sources.filter((s) => !s.includes(":")),
        ipv6: sources.filter((s) => s.includes(":")),
    };
}
