/**
 * Load balancers in front of a fleet of app servers (NET-6, NET-7, TLS-7): Hetzner Cloud load balancers and their
 * services and targets, AWS ALB/NLB listeners and target groups. A stack without a load balancer has nothing to
 * judge here, so a single server passes as before.
 */
import { admitting, describePorts } from "./ufw-syntax";
import { inboundRules, isPublicSource, ufwRules } from "./network";
import { ResourceLike } from "./parse";
import { ChecklistPolicy, stackPolicy } from "./support";

const HCLOUD_LB = "hcloud:index/loadBalancer:LoadBalancer";
const HCLOUD_SERVICE = "hcloud:index/loadBalancerService:LoadBalancerService";
const HCLOUD_TARGET = "hcloud:index/loadBalancerTarget:LoadBalancerTarget";
/** AWS application and network load balancers, under both module names the provider has (lb and its alias alb). */
const AWS_V2_LBS = ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"];
/** Those and the classic ELB. */
const AWS_LBS = [...AWS_V2_LBS, "aws:elb/loadBalancer:LoadBalancer"];
const AWS_LISTENERS = ["aws:lb/listener:Listener", "aws:alb/listener:Listener"];
export const AWS_TARGET_GROUPS = ["aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"];
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";

/** The load balancers of the stack, of any provider. */
export const loadBalancers = (resources: readonly ResourceLike[]) => resources.filter((r) => r.type === HCLOUD_LB || AWS_LBS.includes(r.type));

/** AWS application load balancers (the type's default), which hand the client's address on in X-Forwarded-For. */
export const applicationLoadBalancers = (resources: readonly ResourceLike[]) =>
    resources.filter((r) => AWS_V2_LBS.includes(r.type) && (r.props.loadBalancerType ?? "application") === "application");

/** One hcloud load balancer service with Hetzner's defaults filled in: the ports follow the protocol. */
export type HcloudService = { resource: ResourceLike; protocol: string; listenPort: number; destinationPort: number; proxyprotocol: boolean };

/** The hcloud load balancer services of the stack, as Hetzner runs them. */
export function hcloudServices(resources: readonly ResourceLike[]): HcloudService[] {
    return resources
        .filter((r) => r.type === HCLOUD_SERVICE)
        .map((resource) => {
            const protocol = String(resource.props.protocol);
            const listenPort = Number(resource.props.listenPort ?? (protocol === "https" ? 443 : 80));
            return { resource, protocol, listenPort, destinationPort: Number(resource.props.destinationPort ?? listenPort), proxyprotocol: resource.props.proxyprotocol === true };
        });
}

const WEB_PORTS = [80, 443];

/**
 * The security group an inbound rule belongs to (its URN): the group itself, or the group a separate rule resource
 * (`ec2.SecurityGroupRule`, `vpc.SecurityGroupIngressRule`) takes its securityGroupId from. Undefined for a group
 * the stack does not create.
 */
function ruleGroup(rule: ResourceLike): string | undefined {
    if (rule.type === SECURITY_GROUP) return rule.urn;
    return rule.deps?.securityGroupId?.find((urn) => urn.split("::")[2]?.split("$").pop() === SECURITY_GROUP);
}

/**
 * The security groups the stack's load balancers use: those their `securityGroups` come from. The engine names
 * them at a first preview too, when no group's id exists yet.
 */
function loadBalancerGroups(resources: readonly ResourceLike[]): Set<string> {
    return new Set(loadBalancers(resources).flatMap((lb) => lb.deps?.securityGroups ?? []));
}

export const net6: ChecklistPolicy = stackPolicy({
    id: "NET-6",
    slug: "web-ports-only-from-load-balancer",
    description:
        "Behind a load balancer no server answers 80 or 443 from the internet: no cloud firewall rule and no ufw rule admits them from a public source, and the load balancer reaches its hcloud targets over the private network.",
    severity: "high",
    remediation: "Open 80 and 443 in ufw only from the load balancer's private address, keep them out of the cloud firewall, and set usePrivateIp on every hcloud load balancer target. AWS: admit them in the servers' security group only from the load balancer's subnets (or its security group), with the PROXY protocol v2 and client address preservation off on its target groups.",
    check: (resources, ctx) => {
        if (loadBalancers(resources).length === 0) return;
        const lbGroups = loadBalancerGroups(resources);
        for (const rule of inboundRules(resources)) {
            const open = WEB_PORTS.filter((p) => rule.from <= p && p <= rule.to);
            const sources = rule.sources.filter(isPublicSource);
            if (!open.length || !sources.length) continue;
            if (rule.resource.type === "hcloud:index/firewall:Firewall") {
                ctx.report(`${rule.resource.name} opens ${open.join(" and ")} to ${sources.join(", ")} although a load balancer takes the traffic; remove the rule (the load balancer reaches the servers over the private network).`, rule.resource);
                continue;
            }
            // AWS: a load balancer's own security group takes the internet's traffic; a server's must not.
            const group = ruleGroup(rule.resource);
            if (group && lbGroups.has(group)) continue;
            ctx.report(`${rule.resource.name} opens ${open.join(" and ")} to ${sources.join(", ")} although a load balancer takes the traffic, so clients can bypass it (and its address checks) to reach a server directly; admit the web ports only from the load balancer's subnets or its security group (target groups with proxyProtocolV2 and preserveClientIp "false").`, rule.resource);
        }
        const { rules } = ufwRules(resources);
        for (const port of WEB_PORTS) {
            for (const shipped of admitting(rules, port, isPublicSource)) {
                ctx.report(`ufw rule "${shipped.rule.text}" shipped by ${shipped.resource.name} admits ${describePorts(shipped.rule.ports)} from ${shipped.rule.from} although a load balancer takes the traffic; allow it only from the load balancer's private address.`, shipped.resource);
            }
        }
        for (const t of resources.filter((r) => r.type === HCLOUD_TARGET)) {
            if (t.props.usePrivateIp !== true) ctx.report(`${t.name} sends traffic to its target's public address, so the server must open its web ports publicly; set usePrivateIp: true (the load balancer joins the private network).`, t);
        }
        const inline = resources.filter((r) => r.type === HCLOUD_LB).flatMap((lb) => ((lb.props.targets ?? []) as Record<string, unknown>[]).map(() => lb));
        for (const lb of new Set(inline)) ctx.report(`${lb.name} lists its targets inline, which reach the servers' public addresses; use hcloud.LoadBalancerTarget with usePrivateIp: true.`, lb);
    },
});

/** Why a health check does not ask the app, or undefined when it does. */
function hcloudHealthProblem(check: Record<string, any> | undefined): string | undefined {
    if (!check) return "has no health check, so Hetzner checks only that the port accepts TCP connections";
    if (!["http", "https"].includes(String(check.protocol))) return `checks health over ${check.protocol}, which sees only that the port accepts connections`;
    const path = check.http?.path;
    if (!path) return "checks health over http without a path";
    const codes = (check.http?.statusCodes ?? ["2??", "3??"]) as string[];
    if (codes.some((c) => !/^2/.test(c))) return `counts status ${codes.filter((c) => !/^2/.test(c)).join(", ")} as healthy (a redirect or error is not a healthy app)`;
    return undefined;
}

export const net7: ChecklistPolicy = stackPolicy({
    id: "NET-7",
    slug: "load-balancer-health-check",
    description:
        "A load balancer takes a server out of rotation when the app is unhealthy: every hcloud service and AWS target group checks health over HTTP(S) on a path and counts only 2xx as healthy (a TCP check sees nginx up while the app is down).",
    severity: "high",
    remediation: "healthCheck: { protocol: \"http\", port: <health listener>, http: { path: \"/health\", statusCodes: [\"2??\"] } } on every service; for AWS target groups healthCheck { protocol: \"HTTP\", path: \"/health\", matcher: \"200-299\" }.",
    check: (resources, ctx) => {
        for (const s of resources.filter((r) => r.type === HCLOUD_SERVICE)) {
            const problem = hcloudHealthProblem(s.props.healthCheck);
            if (problem) ctx.report(`${s.name} (port ${s.props.listenPort}) ${problem}; check the app's health path over http and accept only 2xx.`, s);
        }
        for (const tg of resources.filter((r) => AWS_TARGET_GROUPS.includes(r.type))) {
            const hc = (tg.props.healthCheck ?? {}) as Record<string, any>;
            // Without a health check block an HTTP(S) target group checks "/" over its own protocol; a TCP one only connects.
            const protocol = String(hc.protocol ?? tg.props.protocol ?? "HTTP").toUpperCase();
            const matcher = String(hc.matcher ?? "200");
            if (hc.enabled === false) ctx.report(`${tg.name} has its health check disabled; enable it on the app's health path.`, tg);
            else if (!["HTTP", "HTTPS"].includes(protocol)) ctx.report(`${tg.name} checks health over ${protocol}, which sees only that the port accepts connections; set healthCheck.protocol HTTP and the app's health path.`, tg);
            else if (!hc.path || hc.path === "/") ctx.report(`${tg.name} checks health on ${hc.path ?? "/ (unset)"}, not the app's health path; set healthCheck.path.`, tg);
            else if (!/^2\d\d(-2\d\d)?(,2\d\d(-2\d\d)?)*$/.test(matcher)) ctx.report(`${tg.name} counts ${matcher} as healthy; accept only 2xx (matcher 200-299).`, tg);
        }
    },
});

/** ELB security policies that offer only TLS 1.2 and 1.3 with forward-secret AEAD ciphers (TLS-2, TLS-3). */
const AWS_TLS_POLICY = /^ELBSecurityPolicy-TLS13-1-(2-(Res-)?|3-)(PQ-)?20\d\d-\d\d$/;

export const tls7: ChecklistPolicy = stackPolicy({
    id: "TLS-7",
    slug: "load-balancer-redirects-and-keeps-tls",
    description:
        "A load balancer serves plain HTTP only as a redirect to HTTPS, and TLS as nginx (TLS-2, TLS-3) or a policy as strict: hcloud services pass TCP 80 to nginx's redirect (port 80) and 443 to nginx's TLS (443), never terminate TLS with Hetzner's fixed settings or forward plain HTTP to the app; AWS HTTP listeners redirect to HTTPS and HTTPS/TLS listeners use a TLS 1.2+ ELBSecurityPolicy-TLS13 policy.",
    severity: "high",
    remediation: "hcloud: protocol tcp, listenPort 80 -> destinationPort 80 and 443 -> 443 with proxyprotocol. AWS: port 80 listener with a redirect action to HTTPS (HTTP_301), HTTPS listeners with sslPolicy ELBSecurityPolicy-TLS13-1-2-2021-06.",
    check: (resources, ctx) => {
        for (const { resource: s, protocol, listenPort: listen, destinationPort: dest } of hcloudServices(resources)) {
            if (protocol === "https") {
                ctx.report(`${s.name} terminates TLS at the load balancer with Hetzner's settings, which the pack cannot hold to TLS-2/TLS-3; pass TCP through to nginx (protocol tcp, 443 -> 443).`, s);
            } else if (listen === 443 && (protocol !== "tcp" || dest !== 443)) {
                ctx.report(`${s.name} takes 443 as ${protocol} to port ${dest}; pass TCP through to nginx's TLS on 443.`, s);
            } else if (listen !== 443 && dest !== 80) {
                ctx.report(`${s.name} forwards plain ${protocol} on ${listen} to port ${dest}, not to nginx's redirect on 80; forward it to 80.`, s);
            }
        }
        for (const l of resources.filter((r) => AWS_LISTENERS.includes(r.type))) {
            const protocol = String(l.props.protocol ?? "HTTP").toUpperCase();
            const actions = (l.props.defaultActions ?? []) as Record<string, any>[];
            if (protocol === "HTTP") {
                const redirects = actions.length > 0 && actions.every((a) => a.type === "redirect" && String(a.redirect?.protocol ?? "").toUpperCase() === "HTTPS");
                if (!redirects) ctx.report(`${l.name} answers plain HTTP on ${l.props.port ?? 80} with ${actions.map((a) => a.type).join(", ") || "no action"}; make its default action a redirect to HTTPS (statusCode HTTP_301).`, l);
            } else if (["HTTPS", "TLS"].includes(protocol)) {
                const policy = String(l.props.sslPolicy ?? "ELBSecurityPolicy-2016-08 (unset: AWS's default)");
                if (!AWS_TLS_POLICY.test(policy)) ctx.report(`${l.name} uses ${policy}, which offers TLS before 1.2 or weak ciphers; set sslPolicy ELBSecurityPolicy-TLS13-1-2-2021-06.`, l);
            }
        }
    },
});

export const fleetPolicies: ChecklistPolicy[] = [net6, net7, tls7];
