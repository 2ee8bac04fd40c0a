/**
 * "Not yet configured": values of the committed example stacks that a real deployment must replace. The stack
 * files in this repository are examples, with documentation-only networks (RFC 5737, RFC 3849), RFC 2606 domains
 * and example SSH keys whose private halves are not yours. A real `pulumi preview` or `pulumi up` refuses them
 * (lib/config.ts); the offline plan lists them without failing, so the committed examples still plan cleanly.
 * Pure: no Pulumi runtime here.
 */
import { createHash } from "crypto";
import * as ipaddr from "ipaddr.js";
import type { ConfigProblem, StackConfig } from "./config-schema";
import { PROJECT } from "./config-schema";

/** Address ranges reserved for documentation: they never reach a real host. */
export const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"] as const;

/** Second-level domains reserved for examples (RFC 2606). */
export const EXAMPLE_DOMAINS = ["example.com", "example.org", "example.net"] as const;

/**
 * SHA-256 fingerprints (as `ssh-keygen -l` prints them) of the admin keys in the committed stack files. Their
 * private halves belong to whoever wrote the examples: a server that keeps them authorized has a stranger's key.
 */
export const EXAMPLE_KEY_FINGERPRINTS: readonly string[] = [
    "SHA256:gzejNcqeqT6CPdMokbR0Th6fzQbp6MSHnNUAo1Ow2qo", // Pulumi.staging.yaml
    "SHA256:lOYi0KVYEJy3IAsYT0RK3mN94AWs2HnzM1Whnymx3/8", // Pulumi.prod.yaml
    "SHA256:wNv42dCUzmVnD3ueS5wgFvtzc73hLqUngcrnnSZY0g4", // Pulumi.prod.yaml
];

/** `ssh-keygen -l`'s fingerprint of an authorized_keys line (SHA-256 of the key blob, unpadded base64). */
export function keyFingerprint(line: string): string | undefined {
    const blob = line.trim().split(/\s+/)[1];
    if (!blob) return undefined;
    return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

function inDocumentationRange(address: string): string | undefined {
    const text = address.trim().split("/")[0];
    if (!ipaddr.isValid(text)) return undefined;
    const addr = ipaddr.parse(text);
    return DOCUMENTATION_RANGES.find((range) => {
        const [net, bits] = ipaddr.parseCIDR(range);
        return addr.kind() === net.kind() && addr.match(net, bits);
    });
}

const exampleDomain = (name: string) => EXAMPLE_DOMAINS.find((d) => name.toLowerCase() === d || name.toLowerCase().endsWith(`.${d}`));

/**
 * Every example value left in a stack's configuration, each naming the key and the command that replaces it.
 * List keys are replaced as a whole (`pulumi config rm` first), so no example entry survives next to yours.
 */
export function exampleValues(config: StackConfig, stack: string): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const replaceList = (key: string, what: string) => `pulumi config rm ${PROJECT}:${key} --stack ${stack} && pulumi config set --path '${PROJECT}:${key}[0]' ${what} --stack ${stack} (then [1], ... for more)`;
    const set = (key: string, what: string) => `pulumi config set ${PROJECT}:${key} ${what} --stack ${stack}`;
    /** One problem per list key, naming each example entry. */
    const list = (key: string, entries: readonly string[], why: (entry: string) => string | undefined, what: string, label = (entry: string) => `${entry} (`) => {
        const bad = entries.flatMap((e) => {
            const reason = why(e);
            return reason ? [`${label(e)}${reason})`] : [];
        });
        if (bad.length) problems.push({ key, message: `example entr${bad.length === 1 ? "y" : "ies"}: ${bad.join(", ")}`, fix: replaceList(key, what) });
    };

    list("adminCidrs", config.adminCidrs, (cidr) => inDocumentationRange(cidr) && `documentation range ${inDocumentationRange(cidr)}, reaches no real admin`, "<your admin network, e.g. the office's address/32>");
    list("existingHosts", config.existingHosts, (host) => (inDocumentationRange(host) ? `documentation range ${inDocumentationRange(host)}` : exampleDomain(host) && `under ${exampleDomain(host)}`), "<your server's address>");
    const domain = exampleDomain(config.domain);
    if (domain) problems.push({ key: "domain", message: `${config.domain} is under ${domain}, a domain reserved for examples: no certificate can be issued for it`, fix: set("domain", "<your app's host name>") });
    list("domainAliases", config.domainAliases, (name) => exampleDomain(name) && `under ${exampleDomain(name)}, reserved for examples`, "<another host name of your app>");
    const mailDomain = exampleDomain(config.acmeEmail.split("@").pop() ?? "");
    if (mailDomain) problems.push({ key: "acmeEmail", message: `${config.acmeEmail} is at ${mailDomain}, reserved for examples: Let's Encrypt's expiry notices would reach nobody`, fix: set("acmeEmail", "<your ops team's address>") });
    list(
        "adminSshPublicKeys",
        config.adminSshPublicKeys,
        (line) => {
            const comment = line.trim().split(/\s+/).slice(2).join(" ");
            const fingerprint = keyFingerprint(line);
            if (fingerprint && EXAMPLE_KEY_FINGERPRINTS.includes(fingerprint)) return `the committed example key ${fingerprint}: its private half is not yours`;
            return exampleDomain(comment.split("@").pop() ?? "") && `labelled ${comment}, an example`;
        },
        '"$(cat ~/.ssh/id_ed25519.pub)"',
        (line) => `${line.trim().split(/\s+/)[0]} …${line.trim().split(/\s+/)[1]?.slice(-12)} (`,
    );
    return problems;
}
