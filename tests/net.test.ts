import { inboundRules, isWorldCidr, parseCidr, splitByFamily } from "../lib/net";

describe("parseCidr", () => {
    test.each([
        ["203.0.113.0/24", "203.0.113.0/24", "ipv4", 24],
        ["198.51.100.14/32", "198.51.100.14/32", "ipv4", 32],
        ["0.0.0.0/0", "0.0.0.0/0", "ipv4", 0],
        ["2001:db8:100::/48", "2001:db8:100::/48", "ipv6", 48],
        ["2001:0db8:0100:0000::/48", "2001:db8:100::/48", "ipv6", 48],
        ["::/0", "::/0", "ipv6", 0],
    ])("%s is the network %s", (input, network, family, prefixLength) => {
        expect(parseCidr(input)).toEqual({ input, network, family, prefixLength });
    });

    test.each([
        ["203.0.113.0", /no prefix length/],
        ["203.0.113.0/33", /not a valid IPv4 CIDR/],
        ["203.0.113.256/32", /not a valid IPv4 CIDR/],
        ["0x7f.1/32", /not a valid IPv4 CIDR/],
        ["010.0.0.0/8", /not a valid IPv4 CIDR/],
        ["203.0.113.7/24", /host bits set; the network is 203\.0\.113\.0\/24/],
        ["2001:db8::1/32", /host bits set; the network is 2001:db8::\/32/],
        ["2001:db8::/129", /not a valid IPv6 CIDR/],
        ["example.com/24", /not a valid IPv4 CIDR/],
    ])("%s is refused", (input, error) => {
        const parsed = parseCidr(input);
        expect("error" in parsed && parsed.error).toMatch(error);
    });

    test("world CIDRs are recognised in both families, and nothing narrower", () => {
        expect(["0.0.0.0/0", "::/0", "10.0.0.0/8", "::/1", "garbage"].map(isWorldCidr)).toEqual([true, true, false, false, false]);
    });
});

describe("inboundRules (NET-1)", () => {
    const rules = inboundRules({ sshPort: 2222, adminCidrs: ["198.51.100.14/32", "2001:db8:100::/48"] });

    test("only 80 and 443 are public, SSH only from the admin networks", () => {
        expect(rules.map((r) => [r.port, r.sources])).toEqual([
            [80, ["0.0.0.0/0", "::/0"]],
            [443, ["0.0.0.0/0", "::/0"]],
            [2222, ["198.51.100.14/32", "2001:db8:100::/48"]],
        ]);
        expect(rules.every((r) => r.protocol === "tcp")).toBe(true);
    });

    test("sources split by family for security groups", () => {
        expect(splitByFamily(rules[2].sources)).toEqual({ ipv4: ["198.51.100.14/32"], ipv6: ["2001:db8:100::/48"] });
    });
});
