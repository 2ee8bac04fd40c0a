/**
 * ufw's rule syntax, as `ufw` itself reads a rule (ufw(8)): the simple form (`allow 22/tcp`, `allow ssh`,
 * `allow OpenSSH`, `allow 80,443/tcp`, `allow 6000:6007/udp`) and the full form (`allow in on eth0 proto tcp from
 * 192.0.2.0/24 port 1234 to any port 22 comment '...'`), with `limit` (an allow with a rate limit), `deny`, `reject`,
 * `insert N`, `prepend` and `route`. The effective rule set is evaluated in ufw's order, first match wins.
 */

/** A set of ports: `all`, or inclusive ranges. */
export type Ports = "all" | { from: number; to: number }[];

export type UfwRule = {
    action: "allow" | "deny" | "reject" | "limit";
    direction: "in" | "out" | "routed";
    /** Source address or network; `any` for every address of both families. */
    from: string;
    /** Destination ports (ports the rule opens on the host). */
    ports: Ports;
    /** `tcp`, `udp`, or `any`. */
    proto: string;
    /** Where ufw puts the rule: appended, or `insert N` / `prepend`. */
    position: { insert?: number; prepend?: boolean };
    /** The rule as written. */
    text: string;
};

/** Ports of the service names ufw resolves through /etc/services, for the names a web host meets. */
export const SERVICE_PORTS: Readonly<Record<string, number>> = {
    ssh: 22, http: 80, https: 443, www: 80, postgresql: 5432, postgres: 5432, mysql: 3306, smtp: 25, submission: 587,
    imap: 143, imaps: 993, pop3: 110, pop3s: 995, domain: 53, ntp: 123, snmp: 161, ldap: 389, ldaps: 636,
    "http-alt": 8080, redis: 6379, ftp: 21, telnet: 23, rsync: 873, "prometheus": 9090,
};

/** The ports of the application profiles Debian ships in /etc/ufw/applications.d (openssh-server, nginx). */
export const APP_PROFILES: Readonly<Record<string, { ports: number[]; proto: string }>> = {
    OpenSSH: { ports: [22], proto: "tcp" },
    "Nginx HTTP": { ports: [80], proto: "tcp" },
    "Nginx HTTPS": { ports: [443], proto: "tcp" },
    "Nginx Full": { ports: [80, 443], proto: "tcp" },
    "Nginx QUIC": { ports: [443], proto: "udp" },
    WWW: { ports: [80], proto: "tcp" },
    "WWW Secure": { ports: [443], proto: "tcp" },
    "WWW Full": { ports: [80, 443], proto: "tcp" },
    Postfix: { ports: [25], proto: "tcp" },
};

const ANY_SOURCES = new Set(["any", "0.0.0.0/0", "::/0", "0.0.0.0", "::"]);

/** `22`, `ssh`, `6000:6007`, `80,443`, each optionally `/tcp`; undefined for a name ufw would not know. */
export function parsePorts(spec: string): { ports: Ports; proto?: string } | { error: string } {
    const [list, proto] = spec.split("/");
    const ranges: { from: number; to: number }[] = [];
    for (const part of list.split(",")) {
        const m = /^(\d+)(?::(\d+))?$/.exec(part);
        if (m) {
            const from = Number(m[1]);
            const to = Number(m[2] ?? m[1]);
            if (from < 1 || to > 65535 || from > to) return { error: `port ${part} is out of range` };
            ranges.push({ from, to });
            continue;
        }
        const service = SERVICE_PORTS[part.toLowerCase()];
        if (service === undefined) return { error: `service "${part}" is not one this pack can resolve` };
        ranges.push({ from: service, to: service });
    }
    return { ports: ranges, proto };
}

/**
 * One rule in ufw's syntax, split into words the way the rules file is read (`read -r -a`: whitespace, no quotes),
 * or a shell command line `ufw ...`. Returns undefined for lines that are not rules (`default`, `logging`, ...).
 */
export function parseUfwRule(text: string): UfwRule | { error: string } | undefined {
    const words = text.trim().replace(/\s+comment\s+.*$/, "").split(/\s+/).filter(Boolean);
    const rule: UfwRule = { action: "allow", direction: "in", from: "any", ports: "all", proto: "any", position: {}, text: text.trim() };
    let i = 0;
    const next = () => words[i++];
    while (["--dry-run", "rule"].includes(words[i])) i++;
    if (words[i] === "route") {
        rule.direction = "routed";
        i++;
    }
    if (words[i] === "insert") {
        i++;
        rule.position.insert = Number(next());
    } else if (words[i] === "prepend") {
        i++;
        rule.position.prepend = true;
    }
    const action = next();
    if (!["allow", "deny", "reject", "limit"].includes(action)) return undefined;
    rule.action = action as UfwRule["action"];
    if (words[i] === "in" || words[i] === "out") {
        if (rule.direction !== "routed") rule.direction = next() as "in" | "out";
        else i++;
        if (words[i] === "on") i += 2;
    }
    if (words[i] === "log" || words[i] === "log-all") i++;
    const rest = words.slice(i);
    if (rest.length === 0) return { error: `"${text.trim()}" names no port or address` };
    // Simple syntax: one word, a port spec or an application profile.
    if (!["proto", "from", "to"].includes(rest[0])) {
        const spec = rest.join(" ");
        const profile = APP_PROFILES[spec];
        if (profile) return { ...rule, ports: profile.ports.map((p) => ({ from: p, to: p })), proto: profile.proto };
        const parsed = parsePorts(spec);
        if ("error" in parsed) return { error: `"${text.trim()}": ${parsed.error}` };
        return { ...rule, ports: parsed.ports, proto: parsed.proto ?? "any" };
    }
    // Full syntax.
    for (let j = 0; j < rest.length; j++) {
        const word = rest[j];
        if (word === "proto") rule.proto = rest[++j];
        else if (word === "from") {
            rule.from = rest[++j];
            if (rest[j + 1] === "port" || rest[j + 1] === "app") j += 2; // a source port limits nothing here
        } else if (word === "to") {
            j++; // destination address: the host (any of its addresses)
            if (rest[j + 1] === "port") {
                const parsed = parsePorts(rest[j + 2]);
                if ("error" in parsed) return { error: `"${text.trim()}": ${parsed.error}` };
                rule.ports = parsed.ports;
                j += 2;
            } else if (rest[j + 1] === "app") {
                const name = rest.slice(j + 2).join(" ");
                const profile = APP_PROFILES[name];
                if (!profile) return { error: `"${text.trim()}": application profile "${name}" is not one this pack knows` };
                rule.ports = profile.ports.map((p) => ({ from: p, to: p }));
                rule.proto = profile.proto;
                j = rest.length;
            }
        } else return { error: `"${text.trim()}": unexpected word "${word}"` };
    }
    return rule;
}

export const coversPort = (ports: Ports, port: number) => ports === "all" || ports.some((r) => r.from <= port && port <= r.to);

export const isAnySource = (source: string) => ANY_SOURCES.has(source);

export const describePorts = (ports: Ports) => (ports === "all" ? "every port" : ports.map((r) => (r.from === r.to ? `port ${r.from}` : `ports ${r.from}-${r.to}`)).join(", "));

/** Rules in the order ufw evaluates them: appended in order, `insert N` at position N, `prepend` first. */
export function ordered<T extends { rule: UfwRule }>(rules: T[]): T[] {
    const out: T[] = [];
    for (const r of rules) {
        if (r.rule.position.prepend) out.unshift(r);
        else if (r.rule.position.insert) out.splice(Math.max(0, r.rule.position.insert - 1), 0, r);
        else out.push(r);
    }
    return out;
}

/**
 * Inbound rules that admit `port` from `matches` sources, as ufw decides it: the first rule (in order) whose source
 * and port match wins, so an earlier deny or reject for every address shadows a later allow.
 */
export function admitting<T extends { rule: UfwRule }>(rules: T[], port: number, matches: (source: string) => boolean): T[] {
    const inbound = ordered(rules).filter((r) => r.rule.direction === "in");
    return inbound.filter((r, i) => {
        if (r.rule.action !== "allow" && r.rule.action !== "limit") return false;
        if (!coversPort(r.rule.ports, port) || !matches(r.rule.from)) return false;
        return !inbound.slice(0, i).some((e) => (e.rule.action === "deny" || e.rule.action === "reject") && coversPort(e.rule.ports, port) && isAnySource(e.rule.from) && (e.rule.proto === "any" || e.rule.proto === r.rule.proto));
    });
}
