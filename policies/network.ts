/**
 * Network exposure (NET-1..5, MON-2): cloud firewalls and security groups, ufw rules and listen addresses as
 * the remote steps ship them.
 */
import { isWorldCidr, parseCidr } from "../lib/net";
import { UFW_RULES_PATH } from "../lib/render/ufw";
import { asList, directive, directives, hostCommandLines, hostFiles, hostScripts, parseKeyValues, parseNginx, parseUnit, ResourceLike, serviceUnits, Unit, unitCommand, unitEnvironment, unitWords } from "./parse";
import { admitting, describePorts, isAnySource, parseUfwRule, Ports, UfwRule } from "./ufw-syntax";
import { ChecklistPolicy, firstStep, hasHosts, HOST_FILE_CARRIERS, isServer, stackPolicy } from "./support";

/** The resources that carry inbound rules of a cloud firewall or security group. */
export const FIREWALL_TYPES = ["hcloud:index/firewall:Firewall", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"] as const;

/** One inbound rule of a cloud firewall or security group, normalised. */
export type Inbound = { from: number; to: number; sources: string[]; resource: ResourceLike };

const ALL_PORTS = { from: 0, to: 65535 };

/** A port range of an AWS rule: protocol -1/all (or a number that is not TCP/UDP) means every port. */
function awsRange(protocol: unknown, fromPort: unknown, toPort: unknown) {
    const p = String(protocol ?? "").toLowerCase();
    if (["-1", "all"].includes(p) || fromPort === undefined || fromPort === null) return ALL_PORTS;
    if (!["tcp", "udp", "6", "17"].includes(p)) return ALL_PORTS;
    const from = Number(fromPort);
    const to = Number(toPort ?? fromPort);
    return from === 0 && (to === 0 || to === 65535) ? ALL_PORTS : { from, to };
}

/**
 * Inbound rules of hcloud firewalls and AWS security groups, in every resource that can carry one: inline rules,
 * `ec2.SecurityGroupRule` (type ingress) and `vpc.SecurityGroupIngressRule`.
 */
export function inboundRules(resources: readonly ResourceLike[]): Inbound[] {
    const out: Inbound[] = [];
    for (const r of resources) {
        if (r.type === "hcloud:index/firewall:Firewall") {
            for (const rule of (r.props.rules ?? []) as Record<string, any>[]) {
                if (rule.direction !== "in") continue;
                const port = String(rule.port ?? "any");
                const range = port === "any" || !["tcp", "udp"].includes(rule.protocol) ? ALL_PORTS : { from: Number(port.split("-")[0]), to: Number(port.split("-")[1] ?? port.split("-")[0]) };
                out.push({ ...range, sources: rule.sourceIps ?? [], resource: r });
            }
        }
        if (r.type === "aws:ec2/securityGroup:SecurityGroup") {
            for (const rule of (r.props.ingress ?? []) as Record<string, any>[]) {
                out.push({ ...awsRange(rule.protocol, rule.fromPort, rule.toPort), sources: [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])], resource: r });
            }
        }
        if (r.type === "aws:ec2/securityGroupRule:SecurityGroupRule" && r.props.type === "ingress") {
            out.push({ ...awsRange(r.props.protocol, r.props.fromPort, r.props.toPort), sources: [...(r.props.cidrBlocks ?? []), ...(r.props.ipv6CidrBlocks ?? [])], resource: r });
        }
        if (r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
            out.push({ ...awsRange(r.props.ipProtocol, r.props.fromPort, r.props.toPort), sources: [r.props.cidrIpv4, r.props.cidrIpv6].filter(Boolean), resource: r });
        }
    }
    return out;
}

const covers = (rule: { from: number; to: number }, port: number) => rule.from <= port && port <= rule.to;
const describe = (rule: { from: number; to: number }) => (rule.from === 0 && rule.to === 65535 ? "every port" : rule.from === rule.to ? `port ${rule.from}` : `ports ${rule.from}-${rule.to}`);

/**
 * A source that stands for the internet: every address, or a public network wider than an organisation's
 * (IPv4 shorter than /16, IPv6 shorter than /32), such as 0.0.0.0/1 + 128.0.0.0/1.
 */
export function isWideSource(source: string): boolean {
    if (isAnySource(source) || isWorldCidr(source)) return true;
    const parsed = parseCidr(source.includes("/") ? source : `${source}/${source.includes(":") ? 128 : 32}`);
    if ("error" in parsed) return false;
    if (isLocalOrPrivate(parsed.network.split("/")[0])) return false;
    return parsed.family === "ipv4" ? parsed.prefixLength < 16 : parsed.prefixLength < 32;
}

/** A source that reaches a host from outside its private networks. */
export const isPublicSource = (source: string) => isWideSource(source) || !isLocalOrPrivate(source.split("/")[0]);

export type ShippedUfwRule = { rule: UfwRule; resource: ResourceLike };

/**
 * Every ufw rule the remote steps ship, in the order ufw applies them: the managed rules file, then `ufw ...`
 * commands in any step's script. Lines ufw would refuse, or whose ports this pack cannot resolve, are returned as
 * errors.
 */
export function ufwRules(resources: readonly ResourceLike[]): { rules: ShippedUfwRule[]; errors: { text: string; resource: ResourceLike }[] } {
    const rules: ShippedUfwRule[] = [];
    const errors: { text: string; resource: ResourceLike }[] = [];
    const add = (line: string, resource: ResourceLike) => {
        const parsed = parseUfwRule(line);
        if (parsed === undefined) return;
        if ("error" in parsed) errors.push({ text: parsed.error, resource });
        else rules.push({ rule: parsed, resource });
    };
    for (const f of hostFiles(resources).filter((f) => f.path === UFW_RULES_PATH)) {
        for (const line of f.content.split("\n")) if (line.trim() && !line.trim().startsWith("#")) add(line, f.from);
    }
    for (const { script, from } of hostScripts(resources)) {
        for (const m of script.matchAll(/(?:^|[;&|(]\s*|\bthen\s+|\bdo\s+)ufw\s+([^;&|\n]+)/gm)) add(m[1], from);
    }
    return { rules, errors };
}

/** The first port of a rule's ports that is not in `allowed` (undefined if it opens only allowed ports). */
function firstOtherPort(ports: Ports, allowed: number[]): number | undefined {
    if (ports === "all") return [1, 2, 3].find((p) => !allowed.includes(p)) ?? 1;
    for (const r of ports) for (let p = r.from; p <= r.to && p <= r.from + 1024; p++) if (!allowed.includes(p)) return p;
    return undefined;
}

export const net1: ChecklistPolicy = stackPolicy({
    id: "NET-1",
    slug: "only-web-ports-public",
    description: "Public inbound traffic reaches only 80 and 443; SSH only from the admin CIDRs, never from the whole internet in prod.",
    severity: "critical",
    resourceTypes: [...HOST_FILE_CARRIERS, ...FIREWALL_TYPES],
    remediation: "Restrict every other inbound rule of the cloud firewall / security group and of ufw to the admin networks (webapp:adminCidrs).",
    check: (resources, ctx) => {
        const allowed = ctx.prod ? [80, 443] : [80, 443, 22];
        for (const rule of inboundRules(resources)) {
            const world = rule.sources.filter(isWideSource);
            if (world.length === 0) continue;
            const webOnly = rule.from === rule.to && allowed.includes(rule.from);
            if (!webOnly) {
                ctx.report(`${rule.resource.name} opens ${describe(rule)} to ${world.join(", ")}, the whole internet; only ${ctx.prod ? "80 and 443" : "80, 443 and (staging) 22"} may be public. Limit the rule's sources to the admin networks (webapp:adminCidrs).`, rule.resource);
            }
        }
        const { rules, errors } = ufwRules(resources);
        for (const e of errors) ctx.report(`a ufw rule shipped by ${e.resource.name} cannot be judged: ${e.text}; write it with numeric ports (e.g. allow proto tcp from <admin network> to any port 22).`, e.resource);
        for (const shipped of rules) {
            const { rule } = shipped;
            if (rule.direction !== "in" || (rule.action !== "allow" && rule.action !== "limit") || !isWideSource(rule.from)) continue;
            const port = firstOtherPort(rule.ports, allowed);
            if (port === undefined || !admitting(rules, port, isWideSource).includes(shipped)) continue;
            ctx.report(`ufw rule "${rule.text}" shipped by ${shipped.resource.name} opens ${describePorts(rule.ports)} to the whole internet (${rule.from}); allow it only from webapp:adminCidrs.`, shipped.resource);
        }
        for (const { script, from } of hostScripts(resources)) {
            if (/\bufw\s+default\s+allow(?:\s+incoming\b|[ \t]*(?:$|[;&|>]))/m.test(script)) ctx.report(`${from.name} sets ufw's default policy for incoming traffic to allow, opening every port; keep default deny incoming.`, from);
        }
    },
});

export const net2: ChecklistPolicy = stackPolicy({
    id: "NET-2",
    slug: "database-port-not-public",
    description: "The database port (5432) is never reachable from the internet: not in a firewall or security group by address, not publicly accessible, PostgreSQL listening on localhost or the private network.",
    severity: "critical",
    resourceTypes: [...HOST_FILE_CARRIERS, ...FIREWALL_TYPES, "aws:rds/instance:Instance"],
    remediation: "Remove 5432 from firewall rules (allow it only from the app servers' security group), keep RDS publiclyAccessible false and listen_addresses on localhost.",
    check: (resources, ctx) => {
        for (const rule of inboundRules(resources)) {
            if (covers(rule, 5432) && rule.sources.length > 0) {
                ctx.report(`${rule.resource.name} lets ${rule.sources.join(", ")} reach 5432; PostgreSQL must not be reachable by address. Allow it only from the app servers' security group.`, rule.resource);
            }
        }
        const { rules } = ufwRules(resources);
        for (const shipped of admitting(rules, 5432, isPublicSource)) {
            ctx.report(`ufw rule "${shipped.rule.text}" shipped by ${shipped.resource.name} lets ${shipped.rule.from} reach 5432; PostgreSQL must not be reachable from outside the private network. Remove that rule.`, shipped.resource);
        }
        for (const r of resources.filter((r) => r.type === "aws:rds/instance:Instance" && r.props.publiclyAccessible === true)) {
            ctx.report(`${r.name} is publicly accessible; set publiclyAccessible: false.`, r);
        }
        for (const f of hostFiles(resources).filter((f) => /\/postgresql\/.*\.conf$/.test(f.path) && !f.path.endsWith("pg_hba.conf"))) {
            const listen = parseKeyValues(f.content).get("listen_addresses");
            if (listen === undefined) continue;
            const bad = listen.split(",").map((a) => a.trim()).filter((a) => !isLocalOrPrivate(a));
            if (bad.length) ctx.report(`${f.path} (${f.from.name}) makes PostgreSQL listen on ${bad.join(", ")}; listen on localhost or a private address only.`, f.from);
        }
    },
});

/** localhost, loopback or an RFC 1918 / ULA address (NET-2, NET-5). */
export function isLocalOrPrivate(address: string): boolean {
    if (address === "localhost") return true;
    if (address === "*" || address === "0.0.0.0" || address === "::") return false;
    const parsed = parseCidr(address.includes("/") ? address : `${address}/${address.includes(":") ? 128 : 32}`);
    if ("error" in parsed) return false;
    const a = parsed.network.split("/")[0];
    return /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a) || a === "::1" || /^f[cd]/i.test(a);
}

/** Whether a label selector (`k=v`, `k!=v`, `k`, `!k`, comma-joined, as hcloud reads them) matches labels. */
export function labelSelectorMatches(selector: string, labels: Record<string, string>): boolean {
    return selector.split(",").map((x) => x.trim()).filter(Boolean).every((term) => {
        const m = /^(!)?([^=!\s]+)\s*(?:(!=|==|=)\s*(\S+))?$/.exec(term);
        if (!m) return false;
        const [, not, key, op, value] = m;
        if (!op) return not ? !(key in labels) : key in labels;
        return op === "!=" ? labels[key] !== value : labels[key] === value;
    });
}

/**
 * Whether a cloud firewall applies to a server: hcloud's firewallIds on the server, a FirewallAttachment or a
 * Firewall's applyTos naming a label selector its labels match, or naming servers by id (a stack policy sees no
 * server ids, so any id list counts); EC2's security groups.
 */
function cloudFirewallApplies(s: ResourceLike, resources: readonly ResourceLike[]): boolean {
    if (s.type !== "hcloud:index/server:Server") return (s.props.vpcSecurityGroupIds ?? s.props.securityGroups ?? []).length > 0;
    if ((s.props.firewallIds ?? []).length > 0) return true;
    const labels = (s.props.labels ?? {}) as Record<string, string>;
    const selects = (selectors: unknown) => asList(selectors).some((sel) => labelSelectorMatches(sel, labels));
    for (const r of resources) {
        if (r.type === "hcloud:index/firewallAttachment:FirewallAttachment" && ((r.props.serverIds ?? []).length > 0 || selects(r.props.labelSelectors))) return true;
        if (r.type === "hcloud:index/firewall:Firewall" && ((r.props.applyTos ?? []) as { server?: unknown; labelSelector?: string }[]).some((a) => a.server !== undefined || (a.labelSelector !== undefined && selects(a.labelSelector)))) return true;
    }
    return false;
}

/** The ufw commands of the steps' scripts, comments stripped, with the step that runs each. */
const ufwCommands = (resources: readonly ResourceLike[]) =>
    hostCommandLines(resources).filter(({ line }) => /(^|[\s;&|(])ufw\s/.test(line));

export const net3: ChecklistPolicy = stackPolicy({
    id: "NET-3",
    slug: "host-and-cloud-firewall",
    description: "ufw is enabled with default deny incoming on every host, and nothing turns it off (ufw disable or reset, ENABLED=no, an ACCEPT input policy, IPV6=no); every server has a cloud firewall attached (firewallIds, a FirewallAttachment or applyTos that selects it, or security groups).",
    severity: "high",
    remediation: "Attach the firewall at creation (hcloud firewallIds / vpcSecurityGroupIds), keep the HostHardening firewall step, and ship no step or file that disables ufw or loosens its defaults.",
    check: (resources, ctx) => {
        for (const s of resources.filter(isServer)) {
            if (!cloudFirewallApplies(s, resources)) ctx.report(`server ${s.name} has no cloud firewall attached; set firewallIds (hcloud) or vpcSecurityGroupIds (EC2), or a FirewallAttachment whose selector matches its labels.`, s);
        }
        if (!hasHosts(resources)) return;
        const commands = ufwCommands(resources);
        const enables = commands.some((c) => /\bufw\s+(--force\s+)?enable\b/.test(c.line));
        const denies = commands.some((c) => /\bufw\s+default\s+(deny|reject)(\s+incoming)?(\s|$|[>;&|])/.test(c.line) && !/\s(outgoing|routed)\b/.test(c.line));
        if (!enables || !denies) {
            const step = firstStep(resources)!;
            ctx.missing("no remote step enables ufw with default deny incoming; keep the HostHardening firewall step.", step);
        }
        // A script that resets or disables ufw must enable it again afterwards (the firewall step resets before it
        // reloads the rules): the last state change of each script counts.
        const state = /\bufw\s+(--force\s+)?(enable|disable|reset)\b/;
        for (const from of new Set(commands.map((c) => c.from))) {
            const last = commands.filter((c) => c.from === from && state.test(c.line)).slice(-1)[0];
            if (last && state.exec(last.line)![2] !== "enable") ctx.report(`${from.name} runs "${last.line}" and does not enable ufw again, which leaves the host without its firewall; remove it.`, from);
        }
        for (const f of hostFiles(resources)) {
            const kv = f.path === "/etc/ufw/ufw.conf" || f.path === "/etc/default/ufw" ? parseKeyValues(f.content) : undefined;
            const unquote = (v: string | undefined) => (v ?? "").replace(/^"(.*)"$/, "$1");
            if (f.path === "/etc/ufw/ufw.conf" && /^no$/i.test(unquote(kv?.get("ENABLED")))) ctx.report(`${f.path} (${f.from.name}) sets ENABLED=no, so ufw does not start at boot; remove it.`, f.from);
            if (f.path === "/etc/default/ufw") {
                const input = unquote(kv?.get("DEFAULT_INPUT_POLICY"));
                if (input && !/^(DROP|REJECT)$/.test(input)) ctx.report(`${f.path} (${f.from.name}) sets DEFAULT_INPUT_POLICY="${input}"; incoming traffic must be dropped by default.`, f.from);
                if (/^no$/i.test(unquote(kv?.get("IPV6")))) ctx.report(`${f.path} (${f.from.name}) sets IPV6=no, so ufw leaves IPv6 traffic unfiltered; set IPV6=yes.`, f.from);
            }
        }
    },
});

export const net4: ChecklistPolicy = stackPolicy({
    id: "NET-4",
    slug: "app-on-loopback",
    description: "The application listens on 127.0.0.1 (or a unix socket) only; nginx proxies to it there (in a fleet, ACME challenges may go on to another server's private address).",
    severity: "high",
    remediation: "Bind the app to 127.0.0.1 (BIND=127.0.0.1:<port>) and proxy_pass to http://127.0.0.1:<port>.",
    check: (resources, ctx) => {
        for (const { f, unit } of serviceUnits(resources)) {
            for (const where of exposedBinds(unit)) ctx.report(`${f.path} (${f.from.name}) binds the app to ${where}; bind it to 127.0.0.1.`, f.from);
        }
        for (const f of hostFiles(resources)) {
            if (/^\/etc\/systemd\/system\/[^/]+\.socket$/.test(f.path)) {
                for (const listen of [...(parseUnit(f.content).get("Socket")?.entries() ?? [])].filter(([k]) => /^Listen(Stream|Datagram|SequentialPacket)$/.test(k)).flatMap(([, v]) => v)) {
                    if (!isLoopbackBind(listen) && !listen.startsWith("/") && !listen.startsWith("@")) ctx.report(`${f.path} (${f.from.name}) listens on ${listen}, every address when no host is named; listen on 127.0.0.1:<port> or a unix socket.`, f.from);
                }
            }
            if (f.path.startsWith("/etc/nginx/sites-")) {
                for (const server of directives(parseNginx(f.content), "server")) {
                    for (const loc of directives(server.block, "location")) {
                        const pass = directive(loc.block, "proxy_pass")?.args[0];
                        // In a fleet, ACME challenges go on to the server that obtains the certificate, on the private network.
                        const acmeToPeer = /^\/\.well-known\/acme-challenge\/?$/.test(loc.args[loc.args.length - 1]) && isLocalOrPrivate(/^https?:\/\/([^/:]+)/.exec(pass ?? "")?.[1] ?? "");
                        if (pass && !acmeToPeer && !/^https?:\/\/(127\.0\.0\.1|\[::1\]|localhost|unix:)/.test(pass)) ctx.report(`${f.path} proxies ${loc.args.join(" ")} to ${pass}; the app must be reached on 127.0.0.1.`, f.from);
                    }
                }
            }
        }
    },
});

/** 127.0.0.1, localhost, ::1 (with or without a port) or a unix socket. */
export function isLoopbackBind(value: string): boolean {
    return /^(unix:|\/|fd:\/\/)/.test(value) || /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)(:\d+)?$/.test(value);
}

/** Options that name the address a server listens on: gunicorn, uvicorn, hypercorn, daphne, waitress, flask, http.server. */
const BIND_OPTIONS = ["--bind", "-b", "--host", "--listen", "--address", "--addr", "--interface", "--ip"];
/** Environment variables servers read their listen address from. */
const BIND_VARIABLES = ["BIND", "HOST", "LISTEN", "LISTEN_ADDR", "LISTEN_ADDRESS", "BIND_ADDRESS", "SERVER_HOST", "UVICORN_HOST", "FLASK_RUN_HOST", "HYPERCORN_BIND"];

/**
 * Where a unit's service listens other than on loopback, in every form the usual Python and Node servers take it:
 * options and their `=` and attached forms (`--bind 0.0.0.0:8000`, `-b:8000`, `--host=::`, flask's `-h`), the
 * same options in GUNICORN_CMD_ARGS, listen variables, and a wildcard address anywhere on the command line.
 */
export function exposedBinds(unit: Unit): string[] {
    const env = unitEnvironment(unit);
    const out: string[] = [];
    for (const k of BIND_VARIABLES) {
        const v = env.get(k);
        if (v !== undefined && !isLoopbackBind(k === "HOST" || k === "UVICORN_HOST" || k === "FLASK_RUN_HOST" ? v.replace(/:\d+$/, "") : v)) out.push(`${v} (${k}=)`);
    }
    const command = unitCommand(unit);
    const flask = command.some((w) => /(^|\/)flask$/.test(w));
    for (const [source, words] of [["ExecStart", command], ["GUNICORN_CMD_ARGS", unitWords(env.get("GUNICORN_CMD_ARGS") ?? "")]] as const) {
        for (let i = 0; i < words.length; i++) {
            const w = words[i];
            let value: string | undefined;
            const eq = w.indexOf("=");
            if (BIND_OPTIONS.includes(w) || (flask && w === "-h")) value = words[i + 1];
            else if (eq > 0 && BIND_OPTIONS.includes(w.slice(0, eq))) value = w.slice(eq + 1);
            else if (/^-b./.test(w)) value = w.slice(2);
            if (value !== undefined && !isLoopbackBind(value)) out.push(`${value} (${source} ${w})`);
            else if (value === undefined && /(^|[^\d.])0\.0\.0\.0([^\d.]|$)|\[::\]/.test(w)) out.push(`${w} (${source})`);
        }
    }
    // Python's http.server listens on every address unless told otherwise.
    const module = command.indexOf("-m");
    if (module >= 0 && command[module + 1] === "http.server" && !command.some((w) => w === "-b" || w === "--bind" || w.startsWith("--bind=") || /^-b./.test(w))) out.push("every address (python -m http.server without --bind)");
    return [...new Set(out)];
}

const METRICS_PORTS = [9100, 9187, 9090, 9093];

function metricsExposure(resources: readonly ResourceLike[]) {
    return inboundRules(resources).filter((rule) => METRICS_PORTS.some((p) => covers(rule, p)) && rule.sources.some((s) => !isLocalOrPrivate(s.split("/")[0])));
}

/**
 * Where node exporter listens, once a step installs it or ships its settings: the --web.listen-address flags of a
 * drop-in's ExecStart (the last ExecStart wins), else of ARGS in /etc/default/prometheus-node-exporter, else its
 * default `:9100` (every address).
 */
function exporterListens(resources: readonly ResourceLike[]): { listens: string[]; where: string; from: ResourceLike }[] {
    const files = hostFiles(resources);
    const flags = (text: string) => [...text.matchAll(/--web\.listen-address[= ]["']?([^\s"']+)/g)].map((m) => m[1]);
    const dropIns = files.filter((f) => /^\/etc\/systemd\/system\/prometheus-node-exporter\.service(\.d\/[^/]+\.conf)?$/.test(f.path)).sort((a, b) => (a.path < b.path ? -1 : 1));
    const execStart = dropIns.flatMap((f) => (parseUnit(f.content).get("Service")?.get("ExecStart") ?? []).filter(Boolean).map((v) => ({ v, f }))).slice(-1)[0];
    const defaults = files.find((f) => f.path === "/etc/default/prometheus-node-exporter");
    const installer = hostScripts(resources).find(({ script }) => /\binstall\b[^\n]*\bprometheus-node-exporter\b/.test(script));
    if (execStart) return [{ listens: flags(execStart.v).length ? flags(execStart.v) : [":9100"], where: execStart.f.path, from: execStart.f.from }];
    if (defaults) return [{ listens: flags(parseKeyValues(defaults.content).get("ARGS") ?? "").length ? flags(parseKeyValues(defaults.content).get("ARGS") ?? "") : [":9100"], where: defaults.path, from: defaults.from }];
    if (installer) return [{ listens: [":9100"], where: "its default settings", from: installer.from }];
    return [];
}

export const net5: ChecklistPolicy = stackPolicy({
    id: "NET-5",
    slug: "internal-services-private",
    description: "Outbound-only services (node exporter, PostgreSQL) bind to localhost or the private network and are not opened in firewalls; node exporter's address as systemd and its defaults file leave it (installed without one, it listens everywhere).",
    severity: "high",
    remediation: "Bind exporters and PostgreSQL to localhost/private addresses and open their ports only to private networks.",
    check: (resources, ctx) => {
        for (const rule of metricsExposure(resources)) ctx.report(`${rule.resource.name} opens ${describe(rule)} (a metrics port) to ${rule.sources.join(", ")}; allow only private networks.`, rule.resource);
        for (const e of exporterListens(resources)) {
            for (const listen of e.listens.filter((l) => !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(l))) {
                ctx.report(`${e.where} (${e.from.name}) makes node exporter listen on ${listen}${listen.startsWith(":") ? " (every address)" : ""}; pass --web.listen-address=127.0.0.1:9100.`, e.from);
            }
        }
    },
});

export const mon2: ChecklistPolicy = stackPolicy({
    id: "MON-2",
    slug: "metrics-not-public",
    description: "Metrics endpoints (node exporter 9100, postgres exporter 9187, Prometheus 9090) are not reachable from the internet.",
    severity: "medium",
    remediation: "Remove public rules for metrics ports; scrape over the private network.",
    check: (resources, ctx) => {
        for (const rule of inboundRules(resources).filter((r) => r.sources.some(isWorldCidr) && METRICS_PORTS.some((p) => covers(r, p)))) {
            ctx.report(`${rule.resource.name} opens ${describe(rule)} to the internet, exposing metrics; remove that rule.`, rule.resource);
        }
    },
});

export const networkPolicies = [net1, net2, net3, net4, net5, mon2];
