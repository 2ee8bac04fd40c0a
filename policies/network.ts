/**
 * Network exposure (NET-1..5, MON-2): cloud firewalls and security groups, ufw rules and listen addresses as
 * the remote steps ship them.
 */
import { isWorldCidr, parseCidr } from "../lib/net";
import { UFW_RULES_PATH } from "../lib/render/ufw";
import { directive, directives, hostFiles, hostScripts, parseKeyValues, parseNginx, parseUnit, ResourceLike } from "./parse";
import { ChecklistPolicy, firstStep, hasHosts, isServer, stackPolicy } from "./support";

/** One inbound rule of a cloud firewall or security group, normalised. */
export type Inbound = { from: number; to: number; sources: string[]; resource: ResourceLike };

const ALL_PORTS = { from: 0, to: 65535 };

/** Inbound rules of hcloud firewalls and AWS security groups (inline and separate rule resources). */
export function inboundRules(resources: readonly ResourceLike[]): Inbound[] {
    const out: Inbound[] = [];
    for (const r of resources) {
        if (r.type === "hcloud:index/firewall:Firewall") {
            for (const rule of (r.props.rules ?? []) as Record<string, any>[]) {
                if (rule.direction !== "in") continue;
                const port = String(rule.port ?? "any");
                const range = port === "any" || rule.protocol === "icmp" ? ALL_PORTS : { from: Number(port.split("-")[0]), to: Number(port.split("-")[1] ?? port.split("-")[0]) };
                out.push({ ...range, sources: rule.sourceIps ?? [], resource: r });
            }
        }
        if (r.type === "aws:ec2/securityGroup:SecurityGroup") {
            for (const rule of (r.props.ingress ?? []) as Record<string, any>[]) {
                const range = rule.protocol === "-1" || rule.protocol === "all" ? ALL_PORTS : { from: Number(rule.fromPort), to: Number(rule.toPort) };
                out.push({ ...range, sources: [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])], resource: r });
            }
        }
        if (r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
            const range = r.props.ipProtocol === "-1" ? ALL_PORTS : { from: Number(r.props.fromPort), to: Number(r.props.toPort) };
            out.push({ ...range, sources: [r.props.cidrIpv4, r.props.cidrIpv6].filter(Boolean), resource: r });
        }
    }
    return out;
}

const covers = (rule: { from: number; to: number }, port: number) => rule.from <= port && port <= rule.to;
const describe = (rule: Inbound) => (rule.from === rule.to ? `port ${rule.from}` : `ports ${rule.from}-${rule.to}`);

/** ufw rule lines shipped to hosts, with the step that carries them. */
function ufwRules(resources: readonly ResourceLike[]) {
    return hostFiles(resources)
        .filter((f) => f.path === UFW_RULES_PATH)
        .flatMap((f) =>
            f.content
                .split("\n")
                .filter((l) => l.trim() && !l.startsWith("#"))
                .map((line) => {
                    const port = Number(/port (\d+)/.exec(line)?.[1]);
                    const source = /from (\S+)/.exec(line)?.[1] ?? "0.0.0.0/0";
                    return { line, port, source, resource: f.from };
                }),
        );
}

export const net1: ChecklistPolicy = stackPolicy({
    id: "NET-1",
    slug: "only-web-ports-public",
    description: "Public inbound traffic reaches only 80 and 443; SSH only from the admin CIDRs, never from the whole internet in prod.",
    severity: "critical",
    remediation: "Restrict every other inbound rule of the cloud firewall / security group and of ufw to the admin networks (webapp:adminCidrs).",
    check: (resources, ctx) => {
        for (const rule of inboundRules(resources)) {
            const world = rule.sources.filter((s) => isWorldCidr(s));
            if (world.length === 0) continue;
            const webOnly = rule.from === rule.to && (rule.from === 80 || rule.from === 443);
            const stagingSsh = !ctx.prod && rule.from === 22 && rule.to === 22;
            if (!webOnly && !stagingSsh) {
                ctx.report(`${rule.resource.name} opens ${describe(rule)} to ${world.join(", ")}; only 80 and 443 may be public. Limit the rule's sources to the admin networks (webapp:adminCidrs).`, rule.resource);
            }
        }
        for (const rule of ufwRules(resources)) {
            if (isWorldCidr(rule.source) && rule.port !== 80 && rule.port !== 443 && !(!ctx.prod && rule.port === 22)) {
                ctx.report(`ufw rule "${rule.line}" shipped by ${rule.resource.name} opens port ${rule.port} to the whole internet; allow it only from webapp:adminCidrs.`, rule.resource);
            }
        }
    },
});

export const net2: ChecklistPolicy = stackPolicy({
    id: "NET-2",
    slug: "database-port-not-public",
    description: "The database port (5432) is never reachable from the internet: not in a firewall or security group by address, not publicly accessible, PostgreSQL listening on localhost or the private network.",
    severity: "critical",
    remediation: "Remove 5432 from firewall rules (allow it only from the app servers' security group), keep RDS publiclyAccessible false and listen_addresses on localhost.",
    check: (resources, ctx) => {
        for (const rule of inboundRules(resources)) {
            if (covers(rule, 5432) && rule.sources.length > 0) {
                ctx.report(`${rule.resource.name} lets ${rule.sources.join(", ")} reach 5432; PostgreSQL must not be reachable by address. Allow it only from the app servers' security group.`, rule.resource);
            }
        }
        for (const f of hostFiles(resources).filter((f) => f.path === UFW_RULES_PATH)) {
            if (/port 5432\b/.test(f.content)) ctx.report(`the ufw rules shipped by ${f.from.name} open 5432; remove that rule.`, f.from);
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

export const net3: ChecklistPolicy = stackPolicy({
    id: "NET-3",
    slug: "host-and-cloud-firewall",
    description: "ufw is enabled with default deny incoming on every host, and every server has a cloud firewall (hcloud Firewall or security group) attached.",
    severity: "high",
    remediation: "Attach the firewall at creation (hcloud firewallIds / vpcSecurityGroupIds) and keep the HostHardening firewall step.",
    check: (resources, ctx) => {
        for (const s of resources.filter(isServer)) {
            const attached = s.type === "hcloud:index/server:Server" ? (s.props.firewallIds ?? []).length > 0 || resources.some((r) => r.type === "hcloud:index/firewallAttachment:FirewallAttachment") : (s.props.vpcSecurityGroupIds ?? s.props.securityGroups ?? []).length > 0;
            if (!attached) ctx.report(`server ${s.name} has no cloud firewall attached; set firewallIds (hcloud) or vpcSecurityGroupIds (EC2).`, s);
        }
        if (!hasHosts(resources)) return;
        const enabling = hostScripts(resources).filter(({ script }) => /ufw default deny incoming/.test(script) && /ufw --force enable/.test(script));
        if (enabling.length === 0) {
            const step = firstStep(resources)!;
            ctx.report("no remote step enables ufw with default deny incoming; keep the HostHardening firewall step.", step);
        }
    },
});

export const net4: ChecklistPolicy = stackPolicy({
    id: "NET-4",
    slug: "app-on-loopback",
    description: "The application listens on 127.0.0.1 (or a unix socket) only; nginx proxies to it there.",
    severity: "high",
    remediation: "Bind the app to 127.0.0.1 (BIND=127.0.0.1:<port>) and proxy_pass to http://127.0.0.1:<port>.",
    check: (resources, ctx) => {
        for (const f of hostFiles(resources)) {
            if (f.path.startsWith("/etc/systemd/system/") && f.path.endsWith(".service") && /\nUser=/.test(f.content) && /\nEnvironment="BIND=/.test(f.content)) {
                const bind = (parseUnit(f.content).get("Service")?.get("Environment") ?? []).map((e) => /^"?BIND=([^"]+)"?$/.exec(e)?.[1]).find(Boolean);
                if (bind && !/^(127\.0\.0\.1|\[::1\]|unix:)/.test(bind)) ctx.report(`${f.path} binds the app to ${bind}; bind it to 127.0.0.1.`, f.from);
            }
            if (f.path.startsWith("/etc/nginx/sites-")) {
                for (const server of directives(parseNginx(f.content), "server")) {
                    for (const loc of directives(server.block, "location")) {
                        const pass = directive(loc.block, "proxy_pass")?.args[0];
                        if (pass && !/^https?:\/\/(127\.0\.0\.1|\[::1\]|localhost|unix:)/.test(pass)) ctx.report(`${f.path} proxies ${loc.args.join(" ")} to ${pass}; the app must be reached on 127.0.0.1.`, f.from);
                    }
                }
            }
        }
    },
});

const METRICS_PORTS = [9100, 9187, 9090, 9093];

function metricsExposure(resources: readonly ResourceLike[]) {
    return inboundRules(resources).filter((rule) => METRICS_PORTS.some((p) => covers(rule, p)) && rule.sources.some((s) => !isLocalOrPrivate(s.split("/")[0])));
}

export const net5: ChecklistPolicy = stackPolicy({
    id: "NET-5",
    slug: "internal-services-private",
    description: "Outbound-only services (node exporter, PostgreSQL) bind to localhost or the private network and are not opened in firewalls.",
    severity: "high",
    remediation: "Bind exporters and PostgreSQL to localhost/private addresses and open their ports only to private networks.",
    check: (resources, ctx) => {
        for (const rule of metricsExposure(resources)) ctx.report(`${rule.resource.name} opens ${describe(rule)} (a metrics port) to ${rule.sources.join(", ")}; allow only private networks.`, rule.resource);
        for (const f of hostFiles(resources).filter((f) => f.path.startsWith("/etc/default/prometheus-node-exporter"))) {
            const listen = /--web\.listen-address[= ](\S+)/.exec(f.content)?.[1];
            if (listen && !/^(127\.0\.0\.1|localhost|\[::1\]):/.test(listen)) ctx.report(`${f.path} makes node exporter listen on ${listen}; listen on 127.0.0.1.`, f.from);
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
