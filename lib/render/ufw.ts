/**
 * ufw, the host firewall (NET-1, NET-3, NET-6): the cloud firewall's inbound rules and the private network's
 * (load balancer, database clients), default deny incoming.
 * The rules are a managed file; the apply commands below reset and reload ufw only when that file differs from
 * what was last applied, so a second run changes nothing.
 */
import { FirewallRole, inboundRules, privateRules } from "../net";

export const UFW_RULES_PATH = "/etc/ufw/pulumi-rules";
export const UFW_APPLIED_PATH = "/var/lib/ufw/pulumi-rules.applied";
/** ufw's own list of the rules as they were right after the last apply: a rule added or deleted by hand since shows. */
export const UFW_ADDED_PATH = "/var/lib/ufw/pulumi-added.applied";

/** One ufw command line (without `ufw`) per rule, in the syntax `ufw` takes. */
export function renderUfwRules(args: { sshPort: number; adminCidrs: readonly string[]; role?: FirewallRole }): string {
    const lines = [...inboundRules(args), ...privateRules(args.role, args.sshPort)].flatMap((r) =>
        r.sources.length === 2 && r.sources.includes("0.0.0.0/0") && r.sources.includes("::/0")
            ? [`allow proto ${r.protocol} to any port ${r.port}`]
            : r.sources.map((s) => `allow proto ${r.protocol} from ${s} to any port ${r.port}`),
    );
    return ["# Managed by Pulumi: host firewall rules (NET-1, NET-3), one `ufw` rule per line.", ...lines, ""].join("\n");
}

/**
 * Bash lines that bring ufw to exactly the rules file: defaults deny incoming / allow outgoing / deny routed,
 * the rules, logging, enabled. Runs only when ufw is inactive, the file changed since the last apply, or ufw's
 * rules changed by hand since (a `ufw allow 5432`: `ufw show added` differs from what it listed after the apply).
 */
export const UFW_APPLY: readonly string[] = [
    `if ! ufw status | grep -q '^Status: active' || ! cmp -s ${UFW_RULES_PATH} ${UFW_APPLIED_PATH} || ! ufw show added 2>/dev/null | cmp -s - ${UFW_ADDED_PATH}; then`,
    "    ufw --force reset >/dev/null",
    "    rm -f /etc/ufw/*.rules.[0-9]* /etc/ufw/*.rules.pulumi-bak",
    "    ufw default deny incoming >/dev/null",
    "    ufw default allow outgoing >/dev/null",
    "    ufw default deny routed >/dev/null",
    `    grep -v '^#' ${UFW_RULES_PATH} | while read -r -a rule; do`,
    '        [ "${#rule[@]}" -gt 0 ] && ufw "${rule[@]}" >/dev/null',
    "    done",
    "    ufw logging low >/dev/null",
    "    ufw --force enable >/dev/null",
    `    install -D -m 0644 ${UFW_RULES_PATH} ${UFW_APPLIED_PATH}`,
    `    ufw show added > ${UFW_ADDED_PATH}`,
    '    log "ufw rules applied"',
    "    changed+=(ufw)",
    "fi",
];
