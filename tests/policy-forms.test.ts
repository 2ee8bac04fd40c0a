/**
 * Policies judge the effective behaviour, not one spelling of it: for each control, the other forms a config can
 * take to reach the same effect (ufw's full syntax and its rule order, other resource types that open the same
 * port, wide networks that are the internet in all but name, ...), each as a violating case that must be found
 * with the control's ID and a passing case that must not. Each case breaks one thing in the compliant plan of a
 * shipped stack.
 */
import type { PlanRun } from "../plan/run";
import { CHECKLIST_IDS } from "../policies/checklist";
import { addFile, addResource, clone, dropFile, editFile, editScript, findings, res, shippedRuns } from "./support/policy";

let prod: PlanRun;
let staging: PlanRun;
let rds: PlanRun;
let fleet: PlanRun;
let awsFleet: PlanRun;
beforeAll(async () => {
    ({ prod, staging, rds, fleet, awsFleet } = await shippedRuns());
});

const P = () => prod;
const S = () => staging;
const R = () => rds;
const F = () => fleet;
const A = () => awsFleet;
/** Adds an inbound rule to the AWS fleet servers' security group. */
const appGroupRule = (rule: Record<string, unknown>) => (r: PlanRun) => (res(r, "web-security-group").inputs.ingress as Record<string, unknown>[]).push(rule);
/** Edits an input of the AWS fleet's target group for a port. */
const targetGroup443 = (edit: (inputs: Record<string, any>) => void) => (r: PlanRun) => edit(res(r, "web-tcp443").inputs);
/** Edits an input of the fleet's load balancer service for a port. */
const service443 = (edit: (inputs: Record<string, any>) => void) => (r: PlanRun) => edit(res(r, "web-service-443").inputs);
const service80 = (edit: (inputs: Record<string, any>) => void) => (r: PlanRun) => edit(res(r, "web-service-80").inputs);
/** Edits the site of the fleet's second app server. */
const fleetSite = (edit: (c: string) => string) => (r: PlanRun) => editFile(r, "proxy-1-nginx", SITE_PATH, edit);
/** Edits the http-context file and the app jail of the fleet's second app server. */
const fleetHttpConf = (edit: (c: string) => string) => (r: PlanRun) => editFile(r, "proxy-1-nginx", "/etc/nginx/conf.d/webapp.conf", edit);
const JAIL = "/etc/fail2ban/jail.d/webapp.local";
const fleetJail = (edit: (c: string) => string) => (r: PlanRun) => editFile(r, "host-1-fail2ban", JAIL, edit);
const UFW = "/etc/ufw/pulumi-rules";
const ufw = (line: string) => (r: PlanRun) => editFile(r, "host-0-firewall", UFW, (c) => `${c}${line}\n`);
const UNIT = "/etc/systemd/system/webapp.service";
const DROP_IN = "/etc/systemd/system/webapp.service.d/override.conf";
const EXEC = "ExecStart=/opt/webapp/venv/bin/gunicorn --config /opt/webapp/gunicorn.conf.py app:app";
/** Replaces the app's command line (the stack's appExecStart) in its unit. */
const exec = (command: string) => (r: PlanRun) => editFile(r, "service-0-service", UNIT, (c) => c.replace(EXEC, `ExecStart=${command}`));
/** Adds lines to the [Service] section of the app's unit, after the ones it has. */
const service = (...lines: string[]) => (r: PlanRun) => editFile(r, "service-0-service", UNIT, (c) => c.replace("\n\n# Sandboxing", `\n${lines.join("\n")}\n\n# Sandboxing`));
/** Ships a drop-in for the app's unit. */
const dropIn = (content: string) => (r: PlanRun) => addFile(r, "service-0-service", DROP_IN, content);
const SITE = "/etc/nginx/sites-enabled/webapp";
const HTTP_CONF = "/etc/nginx/conf.d/webapp.conf";
const site = (edit: (c: string) => string) => (r: PlanRun) => editFile(r, "proxy-0-nginx", SITE, edit);
const httpConf = (edit: (c: string) => string) => (r: PlanRun) => editFile(r, "proxy-0-nginx", HTTP_CONF, edit);
const CSP = /add_header Content-Security-Policy "([^"]*)" always;/;
/** Rewrites the CSP the site sends. */
const csp = (edit: (policy: string) => string) => site((c) => c.replace(CSP, (_m, policy: string) => `add_header Content-Security-Policy "${edit(policy)}" always;`));
/** Moves every add_header of the HTTPS server to the http context (which the server then inherits). */
const headersToHttp = (r: PlanRun) => {
    let moved = "";
    site((c) => c.replace(/^ {4}add_header [^\n]*\n/gm, (line) => ((moved += line.trim() + "\n"), "")))(r);
    httpConf((c) => c + moved)(r);
};
/** The generated database password of a run (its value, as the policies see it after creation). */
const password = (r: PlanRun) => (res(r, "app-db-password").outputs.result as { value: string }).value;
const b64 = (text: string) => Buffer.from(text).toString("base64");
const SSHD = "/etc/ssh/sshd_config.d/10-hardening.conf";
/** Ships another sshd drop-in in the ssh step (sshd reads drop-ins in lexical order; the first value wins). */
const sshdDropIn = (name: string, content: string) => (r: PlanRun) => addFile(r, "host-0-ssh", `/etc/ssh/sshd_config.d/${name}`, content);
/** Rewrites an IAM or bucket policy document of a resource. */
const doc = (name: string, edit: (d: any) => void) => (r: PlanRun) => {
    const x = res(r, name);
    const d = JSON.parse(String(x.inputs.policy));
    edit(d);
    x.inputs.policy = JSON.stringify(d);
    x.outputs.policy = x.inputs.policy;
};
const lifecycleRules = (r: PlanRun) => res(r, "offsite-lifecycle").inputs.rules as Record<string, any>[];
const PG_CONF = "/etc/postgresql/15/main/conf.d/60-webapp.conf";
const HBA = "/etc/postgresql/15/main/pg_hba.conf";
/** Ships another PostgreSQL settings file in the postgresql step. */
const pgFile = (p: string, content: string) => (r: PlanRun) => addFile(r, "database-postgresql", p, content, "0644", "postgres:postgres");
const hcloudRule = (rule: Record<string, unknown>) => (r: PlanRun) => (res(r, "web-firewall").inputs.rules as Record<string, unknown>[]).push({ direction: "in", ...rule });

/** Ships another fail2ban jail file in the fail2ban step, and edits the shipped sshd jail. */
const f2b = (p: string, content: string) => (r: PlanRun) => addFile(r, "host-0-fail2ban", p, content);
const sshdJail = (edit: (c: string) => string) => (r: PlanRun) => editFile(r, "host-0-fail2ban", "/etc/fail2ban/jail.d/sshd.local", edit);

/** Ships another APT configuration file in the upgrades step, or a sysctl file in the sysctl step. */
const apt = (name: string, content: string) => (r: PlanRun) => addFile(r, "host-0-upgrades", `/etc/apt/apt.conf.d/${name}`, content);
const sysctl = (p: string, content: string) => (r: PlanRun) => addFile(r, "host-0-sysctl", p, content);

/** Edits a backup timer (daily or weekly) in the backup timers step. */
const timer = (tier: string, edit: (c: string) => string) => (r: PlanRun) => editFile(r, "backups-timers", `/etc/systemd/system/webapp-backup-${tier}.timer`, edit);

/** Appends statements to the app's role SQL. */
const roleSql = (extra: string) => (r: PlanRun) => editFile(r, "database-role", "/etc/webapp/database/role.sql", (c) => `${c}${extra}\n`);

/** Rewrites the certbot command line of the proxy step. */
const certbot = (edit: (line: string) => string) => (r: PlanRun) =>
    editScript(r, "proxy-0-nginx", (s) => {
        const out = s.replace(/^(\s*)certbot '[^\n]*$/m, (line) => edit(line));
        if (out === s) throw new Error("the certbot line did not change");
        return out;
    });

/** Edits the app's logrotate file; throws when the edit changes nothing. */
const logrotate = (edit: (c: string) => string) => (r: PlanRun) =>
    editFile(r, "service-0-service", "/etc/logrotate.d/webapp", (c) => {
        const out = edit(c);
        if (out === c) throw new Error("the logrotate file did not change");
        return out;
    });

/** Edits the first server's cloud-init user data; throws when the edit changes nothing. */
const userData = (edit: (d: string) => string) => (r: PlanRun) => {
    const server = res(r, "web-server-0");
    const before = String(server.inputs.userData);
    const after = edit(before);
    if (after === before) throw new Error("the user data did not change");
    server.inputs.userData = after;
    server.outputs.userData = after;
};

/** Installs node exporter in the monitoring step, with one settings file when given. */
const exporter = (file?: string, content?: string) => (r: PlanRun) => {
    editScript(r, "host-0-monitoring", (s) => `${s}\napt-get install -y prometheus-node-exporter\n`);
    if (file) addFile(r, "host-0-monitoring", file, content ?? "");
};

/** Edits the backup script; throws when the edit changes nothing. */
const backupScript = (edit: (c: string) => string) => (r: PlanRun) =>
    editFile(r, "backups-timers", "/usr/local/lib/webapp/backup", (c) => {
        const out = edit(c);
        if (out === c) throw new Error("the backup script did not change");
        return out;
    });

/** Edits the sshd drop-in, or the security sources file. */
const sshdEdit = (edit: (c: string) => string) => (r: PlanRun) => editFile(r, "host-0-ssh", SSHD, edit);
const secSources = (edit: (c: string) => string) => (r: PlanRun) => editFile(r, "host-0-upgrades", "/etc/apt/sources.list.d/debian-security.sources", edit);

/** Removes a property from a resource as if the program never set it (the mock provider echoes inputs as outputs). */
const unset = (r: PlanRun, name: string, key: string) => {
    delete res(r, name).inputs[key];
    delete res(r, name).outputs[key];
};

/** [control, case, base, change, the finding's message, or null: the change must pass]. */
type Form = [control: string, form: string, base: () => PlanRun, change: (run: PlanRun) => void, expected: RegExp | null];

const SITE_PATH = "/etc/nginx/sites-enabled/webapp";

const forms: Form[] = [
    // NET-6: behind a load balancer, no server's web ports face the internet, whichever layer would open them.
    ["NET-6", "the cloud firewall opens 443 to the world", F, hcloudRule({ protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0", "::/0"] }), /web-firewall opens 443 to 0\.0\.0\.0\/0, ::\/0 although a load balancer takes the traffic/],
    ["NET-6", "a port range that covers 80 and 443 for one public network", F, hcloudRule({ protocol: "tcp", port: "1-1024", sourceIps: ["203.0.113.0/24"] }), /opens 80 and 443 to 203\.0\.113\.0\/24/],
    ["NET-6", "a ufw rule for everyone ahead of the load balancer's", F, (r) => editFile(r, "host-1-firewall", "/etc/ufw/pulumi-rules", (c) => c.replace("allow proto tcp from 10.0.0.2/32 to any port 443", "allow proto tcp to any port 443\nallow proto tcp from 10.0.0.2/32 to any port 443")), /ufw rule "allow proto tcp to any port 443" shipped by host-1-firewall admits port 443/],
    ["NET-6", "a target reached at its public address", F, (r) => (res(r, "web-target-1").inputs.usePrivateIp = false), /web-target-1 sends traffic to its target's public address/],
    ["NET-6", "targets listed inline on the load balancer", F, (r) => (res(r, "web-lb").inputs.targets = [{ type: "server", serverId: 4200001 }]), /web-lb lists its targets inline/],
    ["NET-6", "pass: ufw admits 443 from the private subnet", F, (r) => editFile(r, "host-1-firewall", "/etc/ufw/pulumi-rules", (c) => `${c}allow proto tcp from 10.0.0.0/24 to any port 443\n`), null],
    // NET-6 at AWS: the servers' security group in any form; the load balancer's own group may face the internet.
    ["NET-6", "AWS: the servers' security group opens 443 to the world", A, appGroupRule({ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }), /web-security-group opens 443 to 0\.0\.0\.0\/0 although a load balancer takes the traffic, so clients can bypass it/],
    ["NET-6", "AWS: every protocol from an IPv6 world", A, appGroupRule({ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }), /web-security-group opens 80 and 443 to ::\/0/],
    ["NET-6", "AWS: a separate ingress rule on the servers' group", A, (r) => addResource(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "web-https-anywhere", { securityGroupId: res(r, "web-security-group").id, ipProtocol: "tcp", fromPort: 80, toPort: 443, cidrIpv4: "0.0.0.0/0" }, { securityGroupId: [res(r, "web-security-group").urn] }), /web-https-anywhere opens 80 and 443 to 0\.0\.0\.0\/0/],
    ["NET-6", "AWS: a classic SecurityGroupRule for a public /16", A, (r) => addResource(r, "aws:ec2/securityGroupRule:SecurityGroupRule", "web-http-partner", { type: "ingress", securityGroupId: res(r, "web-security-group").id, protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["203.0.0.0/16"] }, { securityGroupId: [res(r, "web-security-group").urn] }), /web-http-partner opens 80 to 203\.0\.0\.0\/16/],
    ["NET-6", "AWS: a group of its own for the servers, outside the stack's knowledge", A, (r) => addResource(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "web-https-imported", { securityGroupId: "sg-0123456789abcdef0", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" }), /web-https-imported opens 443 to 0\.0\.0\.0\/0/],
    ["NET-6", "pass: AWS: the load balancer's own security group admits the internet", A, (r) => {
        addResource(r, "aws:ec2/securityGroup:SecurityGroup", "web-lb-group", { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }, { protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] }] });
        const lb = res(r, "web-nlb");
        lb.inputs.securityGroups = ["web-lb-group-id"];
        lb.propertyDependencies = { ...lb.propertyDependencies, securityGroups: [res(r, "web-lb-group").urn] };
    }, null],
    ["NET-6", "pass: AWS: the servers' group admits 443 from the VPC", A, appGroupRule({ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.0.0.0/16"] }), null],
    ["NET-6", "pass: without a load balancer the server takes web traffic itself", P, hcloudRule({ protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0"] }), null],
    // NET-7: the health check asks the app.
    ["NET-7", "AWS: a target group checked over TCP", A, targetGroup443((i) => (i.healthCheck.protocol = "TCP")), /web-tcp443 checks health over TCP/],
    ["NET-7", "AWS: a target group checked on /", A, targetGroup443((i) => (i.healthCheck.path = "/")), /web-tcp443 checks health on \/, not the app's health path/],
    ["NET-7", "a TCP health check", F, service443((i) => (i.healthCheck.protocol = "tcp")), /web-service-443 \(port 443\) checks health over tcp/],
    ["NET-7", "no health check (Hetzner's default is TCP)", F, (r) => [res(r, "web-service-443").inputs, res(r, "web-service-443").outputs].forEach((p) => delete p.healthCheck), /web-service-443 \(port 443\) has no health check/],
    ["NET-7", "a redirect counted as healthy", F, service80((i) => (i.healthCheck.http.statusCodes = ["2??", "3??"])), /counts status 3\?\? as healthy/],
    ["NET-7", "Hetzner's default status codes (2xx and 3xx)", F, service80((i) => delete i.healthCheck.http.statusCodes), /counts status 3\?\? as healthy/],
    ["NET-7", "an http check without a path", F, service443((i) => delete i.healthCheck.http.path), /checks health over http without a path/],
    ["NET-7", "an AWS target group checked over TCP", R, (r) => addResource(r, "aws:lb/targetGroup:TargetGroup", "web-tg", { port: 443, protocol: "TCP", vpcId: "vpc-1" }), /web-tg checks health over TCP/],
    ["NET-7", "an AWS target group checked on /", R, (r) => addResource(r, "aws:alb/targetGroup:TargetGroup", "web-tg", { port: 80, protocol: "HTTP", healthCheck: { path: "/" } }), /web-tg checks health on \/, not the app's health path/],
    ["NET-7", "an AWS target group with the check disabled", R, (r) => addResource(r, "aws:lb/targetGroup:TargetGroup", "web-tg", { port: 80, protocol: "HTTP", healthCheck: { enabled: false } }), /web-tg has its health check disabled/],
    ["NET-7", "pass: an AWS target group on the health path, 2xx only", R, (r) => addResource(r, "aws:lb/targetGroup:TargetGroup", "web-tg", { port: 80, protocol: "HTTP", healthCheck: { path: "/health", matcher: "200-299" } }), null],
    ["NET-7", "pass: an https check on the health path", F, service443((i) => (i.healthCheck.protocol = "https")), null],
    // TLS-7: what the load balancer does with HTTP and TLS.
    ["TLS-7", "Hetzner terminates TLS", F, service443((i) => (i.protocol = "https")), /web-service-443 terminates TLS at the load balancer with Hetzner's settings/],
    ["TLS-7", "port 80 forwarded to the app", F, service80((i) => (i.destinationPort = 8000)), /web-service-80 forwards plain tcp on 80 to port 8000/],
    ["TLS-7", "443 passed to nginx's plain port", F, service443((i) => (i.destinationPort = 80)), /web-service-443 takes 443 as tcp to port 80/],
    ["TLS-7", "an AWS listener serving plain HTTP", R, (r) => addResource(r, "aws:lb/listener:Listener", "web-http", { port: 80, protocol: "HTTP", defaultActions: [{ type: "forward", targetGroupArn: "arn:tg" }] }), /web-http answers plain HTTP on 80 with forward/],
    ["TLS-7", "an AWS HTTPS listener on AWS's default policy", R, (r) => addResource(r, "aws:alb/listener:Listener", "web-https", { port: 443, protocol: "HTTPS", certificateArn: "arn:cert", defaultActions: [{ type: "forward" }] }), /web-https uses ELBSecurityPolicy-2016-08 \(unset: AWS's default\)/],
    ["TLS-7", "an AWS TLS listener with a TLS 1.0 policy", R, (r) => addResource(r, "aws:lb/listener:Listener", "web-tls", { port: 443, protocol: "TLS", sslPolicy: "ELBSecurityPolicy-TLS-1-0-2015-04", defaultActions: [{ type: "forward" }] }), /web-tls uses ELBSecurityPolicy-TLS-1-0-2015-04/],
    ["TLS-7", "pass: AWS redirects HTTP and serves TLS 1.2+", R, (r) => {
        addResource(r, "aws:lb/listener:Listener", "web-http", { port: 80, protocol: "HTTP", defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }] });
        addResource(r, "aws:lb/listener:Listener", "web-https", { port: 443, protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", defaultActions: [{ type: "forward" }] });
    }, null],
    ["TLS-7", "pass: plain HTTP taken by Hetzner and handed to nginx's redirect", F, service80((i) => (i.protocol = "http")), null],
    // PX-4: the client's address behind the load balancer.
    ["PX-4", "TCP passed without the PROXY header", F, service443((i) => (i.proxyprotocol = false)), /web-service-443 passes TCP to port 443 without the PROXY protocol header/],
    ["PX-4", "a listen that does not read the PROXY header", F, fleetSite((c) => c.replace("443 ssl http2 proxy_protocol;", "443 ssl http2;")), /listen 10\.0\.0\.11:443 ssl http2 does not read the load balancer's PROXY header/],
    ["PX-4", "the client address believed from anyone", F, fleetSite((c) => c.replaceAll("set_real_ip_from 10.0.0.2;", "set_real_ip_from 0.0.0.0/0;")), /believes client addresses from 0\.0\.0\.0\/0/],
    ["PX-4", "X-Forwarded-For where the PROXY header arrives", F, fleetSite((c) => c.replaceAll("real_ip_header proxy_protocol;", "real_ip_header X-Forwarded-For;")), /takes the client address from X-Forwarded-For, but the load balancer sends proxy_protocol/],
    ["PX-4", "no set_real_ip_from: every client is the load balancer", F, fleetSite((c) => c.replaceAll("    set_real_ip_from 10.0.0.2;\n", "")), /sees the load balancer's address for every client \(no set_real_ip_from\)/],
    ["PX-4", "a location that trusts anyone", F, fleetSite((c) => c.replace("location / {\n        proxy_pass", "location / {\n        set_real_ip_from 0.0.0.0/0;\n        proxy_pass")), /location \/ believes client addresses from 0\.0\.0\.0\/0/],
    ["PX-4", "an AWS application load balancer in front of nginx without realip", P, (r) => addResource(r, "aws:lb/loadBalancer:LoadBalancer", "web-alb", { loadBalancerType: "application", internal: false }), /no set_real_ip_from/],
    ["PX-4", "AWS: a target group without the PROXY header, client addresses not preserved", A, targetGroup443((i) => (i.proxyProtocolV2 = false)), /web-tcp443 passes TCP to port 443 without the PROXY protocol header and with client address preservation off/],
    ["PX-4", "AWS: the PROXY header believed from anyone", A, (r) => editFile(r, "proxy-2-nginx", SITE_PATH, (c) => c.replaceAll("set_real_ip_from 10.0.2.0/26;", "set_real_ip_from 0.0.0.0/0;")), /believes client addresses from 0\.0\.0\.0\/0/],
    ["PX-4", "AWS: a listen without proxy_protocol behind the target group", A, (r) => editFile(r, "proxy-1-nginx", SITE_PATH, (c) => c.replace("443 ssl http2 proxy_protocol;", "443 ssl http2;")), /listen 10\.0\.1\.11:443 ssl http2 does not read the load balancer's PROXY header/],
    ["PX-4", "pass: the realip settings in the http context", F, (r) => {
        fleetSite((c) => c.replaceAll("    set_real_ip_from 10.0.0.2;\n    real_ip_header proxy_protocol;\n", ""))(r);
        editFile(r, "proxy-1-nginx", "/etc/nginx/conf.d/webapp.conf", (c) => `${c}set_real_ip_from 10.0.0.2;\nreal_ip_header proxy_protocol;\n`);
    }, null],
    ["PX-4", "pass: an AWS network load balancer keeps the client's address", P, (r) => addResource(r, "aws:lb/loadBalancer:LoadBalancer", "web-nlb", { loadBalancerType: "network" }), null],
    // PX-4 and fail2ban behind the load balancer: the app jail's ban must be nginx's, on the client's address.
    ["PX-4", "the app jail bans in the firewall (no action: Debian's banaction)", F, fleetJail((c) => c.replace(/^# Behind.*\n.*\n^action = .*\n/m, "")), /jail \[webapp\] bans with iptables-multiport in the firewall, but behind the load balancer every packet comes from the load balancer/],
    ["PX-4", "the app jail bans with ufw", F, fleetJail((c) => c.replace(/^action = .*$/m, "action = ufw")), /jail \[webapp\] bans with ufw in the firewall/],
    ["PX-4", "the jail writes a list no nginx map reads", F, fleetJail((c) => c.replace("/etc/nginx/webapp-banned.map", "/etc/nginx/other.map")), /lists banned clients in \/etc\/nginx\/other\.map, but no nginx map reads it/],
    ["PX-4", "the map keys on the load balancer's address ($realip_remote_addr)", F, fleetHttpConf((c) => c.replace("map $remote_addr $webapp_banned", "map $realip_remote_addr $webapp_banned")), /nginx maps it on \$realip_remote_addr, not on \$remote_addr/],
    ["PX-4", "a server the load balancer reaches serves banned clients", F, fleetSite((c) => c.replace(/\n {4}if \(\$webapp_banned\) \{\n {8}return 403;\n {4}\}/, "")), /sites-enabled\/webapp \(proxy-1-nginx\): the server on 10\.0\.0\.11:80 serves clients the fail2ban jail \[webapp\] has banned/],
    ["PX-4", "the refusal only logs (return 200)", F, fleetSite((c) => c.replaceAll("return 403;", "return 200;")), /serves clients the fail2ban jail \[webapp\] has banned/],
    ["PX-4", "the app jail's action overridden by a later jail.d file", F, (r) => addFile(r, "host-1-fail2ban", "/etc/fail2ban/jail.d/zz-override.local", "[webapp]\naction = iptables-multiport\n"), /jail \[webapp\] bans with iptables-multiport in the firewall/],
    ["PX-4", "pass: action = %(action_)s with banaction = nginx-block-map on the list nginx maps", F, fleetJail((c) => c.replace(/^action = .*$/m, 'action = %(action_)s\nbanaction = nginx-block-map[blck_lst_file="/etc/nginx/webapp-banned.map"]')), null],
    ["PX-4", "pass: jail.local sets a firewall action, which jail.d/webapp.local (read after it) overrides", F, (r) => addFile(r, "host-1-fail2ban", "/etc/fail2ban/jail.local", "[webapp]\naction = iptables-multiport\n"), null],
    ["PX-4", "pass: nginx-block-map with its own default file, mapped, refused with 444 on a test of = 1", F, (r) => {
        for (const step of ["host-0-fail2ban", "host-1-fail2ban", "host-2-fail2ban"]) editFile(r, step, JAIL, (c) => c.replace(/^action = .*$/m, "action = nginx-block-map[srv_cfg_path=/etc/nginx/]"));
        for (const step of ["proxy-0-nginx", "proxy-1-nginx", "proxy-2-nginx"]) {
            editFile(r, step, HTTP_CONF, (c) => c.replace("/etc/nginx/webapp-banned.map", "/etc/nginx/blacklisted-sessions.map"));
            editFile(r, step, SITE, (c) => c.replaceAll("if ($webapp_banned) {\n        return 403;", "if ($webapp_banned = 1) {\n        return 444;"));
        }
    }, null],
    ["PX-4", "your own load balancer (no hcloud service): a proxy_protocol listen still needs set_real_ip_from", F, (r) => {
        r.resources = r.resources.filter((x) => !x.type.startsWith("hcloud:index/loadBalancer"));
        fleetSite((c) => c.replaceAll("    set_real_ip_from 10.0.0.2;\n", ""))(r);
    }, /sees the load balancer's address for every client \(no set_real_ip_from\)/],
    ["PX-4", "your own load balancer: the app jail bans in the firewall", F, (r) => {
        r.resources = r.resources.filter((x) => !x.type.startsWith("hcloud:index/loadBalancer"));
        fleetJail((c) => c.replace(/^action = .*$/m, "action = iptables-multiport"))(r);
    }, /jail \[webapp\] bans with iptables-multiport in the firewall/],
    // NET-1: only 80 and 443 public; ufw in every spelling, in its evaluation order, and every resource that opens a port.
    ["NET-1", "ufw allow 22/tcp", P, ufw("allow 22/tcp"), /ufw rule "allow 22\/tcp" .* opens port 22 to the whole internet \(any\)/],
    ["NET-1", "ufw allow 22", P, ufw("allow 22"), /opens port 22 to the whole internet/],
    ["NET-1", "ufw allow ssh (a service name)", P, ufw("allow ssh"), /"allow ssh" .* opens port 22/],
    ["NET-1", "ufw allow OpenSSH (an application profile)", P, ufw("allow OpenSSH"), /"allow OpenSSH" .* opens port 22/],
    ["NET-1", "ufw allow from any to any port 22", P, ufw("allow from any to any port 22"), /opens port 22 to the whole internet \(any\)/],
    ["NET-1", "ufw allow proto tcp from any to any port 22", P, ufw("allow proto tcp from any to any port 22"), /opens port 22/],
    ["NET-1", "ufw allow in on eth0 to any port 22", P, ufw("allow in on eth0 to any port 22"), /opens port 22/],
    ["NET-1", "ufw limit ssh (an allow with a rate limit)", P, ufw("limit ssh/tcp"), /"limit ssh\/tcp" .* opens port 22/],
    ["NET-1", "ufw allow a port range", P, ufw("allow 8000:8100/tcp"), /opens ports 8000-8100/],
    ["NET-1", "ufw allow a port list hiding 8000 behind 80 and 443", P, ufw("allow 80,443,8000/tcp"), /opens port 80, port 443, port 8000/],
    ["NET-1", "ufw allow from 0.0.0.0/1 (half the internet)", P, ufw("allow from 0.0.0.0/1 to any port 22"), /opens port 22 to the whole internet \(0\.0\.0\.0\/1\)/],
    ["NET-1", "ufw allow from a public /8", P, ufw("allow from 45.0.0.0/8 to any port 22"), /\(45\.0\.0\.0\/8\)/],
    ["NET-1", "ufw insert 1 allow 22 (before every other rule)", P, ufw("insert 1 allow 22/tcp"), /"insert 1 allow 22\/tcp"/],
    ["NET-1", "ufw allow with a comment", P, ufw("allow 22/tcp comment 'temporary'"), /opens port 22/],
    ["NET-1", "a step that runs ufw allow itself", P, (r) => editScript(r, "host-0-sysctl", (s) => s.replace(/\nexit 0\s*$|$/, "\nufw allow 2222/tcp\n")), /"allow 2222\/tcp" shipped by host-0-sysctl opens port 2222/],
    ["NET-1", "ufw's default policy set to allow", P, (r) => editScript(r, "host-0-sysctl", (s) => `${s}\nufw default allow incoming\n`), /sets ufw's default policy for incoming traffic to allow/],
    ["NET-1", "ufw default allow (incoming is the default direction)", P, (r) => editScript(r, "host-0-sysctl", (s) => `${s}\nufw default allow\n`), /default policy for incoming traffic to allow/],
    ["NET-1", "a rule this pack cannot resolve", P, ufw("allow webmin"), /cannot be judged: "allow webmin": service "webmin"/],
    ["NET-1", "hcloud: every port", P, hcloudRule({ protocol: "tcp", port: "any", sourceIps: ["0.0.0.0/0"] }), /web-firewall opens every port to 0\.0\.0\.0\/0/],
    ["NET-1", "hcloud: a range covering SSH", P, hcloudRule({ protocol: "tcp", port: "1-1024", sourceIps: ["::/0"] }), /opens ports 1-1024 to ::\/0/],
    ["NET-1", "hcloud: UDP to the world", P, hcloudRule({ protocol: "udp", port: "51820", sourceIps: ["0.0.0.0/0"] }), /opens port 51820/],
    ["NET-1", "hcloud: two halves of the internet", P, hcloudRule({ protocol: "tcp", port: "22", sourceIps: ["0.0.0.0/1", "128.0.0.0/1"] }), /opens port 22 to 0\.0\.0\.0\/1, 128\.0\.0\.0\/1/],
    ["NET-1", "aws: a separate SecurityGroupRule", R, (r) => addResource(r, "aws:ec2/securityGroupRule:SecurityGroupRule", "ssh-anywhere", { type: "ingress", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"], securityGroupId: "sg-1" }), /ssh-anywhere opens port 22 to 0\.0\.0\.0\/0/],
    ["NET-1", "aws: a vpc.SecurityGroupIngressRule for every protocol", R, (r) => addResource(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "all-v6", { ipProtocol: "-1", cidrIpv6: "::/0", securityGroupId: "sg-1" }), /all-v6 opens every port to ::\/0/],
    ["NET-1", "aws: protocol number 6 (TCP)", R, (r) => addResource(r, "aws:ec2/securityGroupRule:SecurityGroupRule", "tcp-by-number", { type: "ingress", protocol: "6", fromPort: 3000, toPort: 3000, ipv6CidrBlocks: ["::/0"], securityGroupId: "sg-1" }), /tcp-by-number opens port 3000/],
    ["NET-1", "aws: an inline ingress rule on IPv6", R, (r) => (res(r, "web-security-group").inputs.ingress as Record<string, unknown>[]).push({ protocol: "tcp", fromPort: 22, toPort: 22, ipv6CidrBlocks: ["::/0"] }), /web-security-group opens port 22 to ::\/0/],
    ["NET-1", "pass: an egress SecurityGroupRule to the world", R, (r) => addResource(r, "aws:ec2/securityGroupRule:SecurityGroupRule", "egress-all", { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], securityGroupId: "sg-1" }), null],
    ["NET-1", "pass: a deny for everyone before the allow (first match wins)", P, (r) => editFile(r, "host-0-firewall", UFW, (c) => `deny 22/tcp\n${c}allow 22/tcp\n`), null],
    ["NET-1", "pass: SSH from a private network", P, ufw("allow from 10.0.0.0/8 to any port 22"), null],
    ["NET-1", "pass: ufw allow Nginx Full", P, ufw("allow Nginx Full"), null],
    ["NET-1", "pass: ufw allow 443/tcp", P, ufw("allow 443/tcp"), null],
    ["NET-1", "pass: a routed rule (not to this host)", P, ufw("route allow 22/tcp"), null],
    ["NET-1", "pass: an outgoing rule", P, ufw("allow out 22/tcp"), null],
    ["NET-1", "pass: staging may open SSH to the world", S, ufw("allow 22/tcp"), null],
    ["NET-1", "pass: an organisation's own /24", P, ufw("allow from 45.10.20.0/24 to any port 22"), null],
    // NET-2: 5432 never reachable from outside the private network.
    ["NET-2", "ufw allow 5432", P, ufw("allow 5432"), /"allow 5432" shipped by host-0-firewall lets any reach 5432/],
    ["NET-2", "ufw allow postgresql", P, ufw("allow postgresql/tcp"), /"allow postgresql\/tcp" .* reach 5432/],
    ["NET-2", "ufw: every port from one public address", P, ufw("allow from 198.51.100.7"), /"allow from 198\.51\.100\.7" .* lets 198\.51\.100\.7 reach 5432/],
    ["NET-2", "ufw: a range over 5432", P, ufw("allow proto tcp from 198.51.100.0/24 to any port 5000:6000"), /reach 5432/],
    ["NET-2", "aws: a SecurityGroupRule for 5432 by address", R, (r) => addResource(r, "aws:ec2/securityGroupRule:SecurityGroupRule", "db-from-office", { type: "ingress", protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["198.51.100.0/24"], securityGroupId: "sg-1" }), /db-from-office lets 198\.51\.100\.0\/24 reach 5432/],
    ["NET-2", "pass: 5432 from a private network in ufw", P, ufw("allow from 10.0.0.0/8 to any port 5432"), null],
    ["NET-2", "pass: a deny for 5432 before an allow-all", P, (r) => editFile(r, "host-0-firewall", UFW, (c) => `deny 5432\n${c}allow from 198.51.100.7\n`), null],
    // NET-4: the app listens on loopback only, however its server is told where to listen.
    ["NET-4", "gunicorn --bind 0.0.0.0:8000", P, exec("/opt/webapp/venv/bin/gunicorn --bind 0.0.0.0:8000 app:app"), /binds the app to 0\.0\.0\.0:8000 \(ExecStart --bind\)/],
    ["NET-4", "gunicorn -b 0.0.0.0:8000", P, exec("/opt/webapp/venv/bin/gunicorn -b 0.0.0.0:8000 app:app"), /0\.0\.0\.0:8000 \(ExecStart -b\)/],
    ["NET-4", "gunicorn --bind=0.0.0.0:8000", P, exec("/opt/webapp/venv/bin/gunicorn --bind=0.0.0.0:8000 app:app"), /0\.0\.0\.0:8000 \(ExecStart --bind=0\.0\.0\.0:8000\)/],
    ["NET-4", "gunicorn -b:8000 (every address)", P, exec("/opt/webapp/venv/bin/gunicorn -b:8000 app:app"), /binds the app to :8000/],
    ["NET-4", "uvicorn --host 0.0.0.0", P, exec("/opt/webapp/venv/bin/uvicorn app:app --host 0.0.0.0 --port 8000"), /binds the app to 0\.0\.0\.0 \(ExecStart --host\)/],
    ["NET-4", "uvicorn --host=::", P, exec("/opt/webapp/venv/bin/uvicorn app:app --host=:: --port 8000"), /binds the app to ::/],
    ["NET-4", "flask run -h 0.0.0.0", P, exec("/opt/webapp/venv/bin/flask run -h 0.0.0.0 -p 8000"), /0\.0\.0\.0 \(ExecStart -h\)/],
    ["NET-4", "python -m http.server without --bind", P, exec("/usr/bin/python3 -m http.server 8000"), /every address \(python -m http\.server without --bind\)/],
    ["NET-4", "GUNICORN_CMD_ARGS", P, service('Environment="GUNICORN_CMD_ARGS=--bind 0.0.0.0:8000"'), /0\.0\.0\.0:8000 \(GUNICORN_CMD_ARGS --bind\)/],
    ["NET-4", "HOST=0.0.0.0", P, service('Environment="HOST=0.0.0.0"'), /0\.0\.0\.0 \(HOST=\)/],
    ["NET-4", "a drop-in that rebinds", P, dropIn('[Service]\nEnvironment="BIND=0.0.0.0:8000"\n'), /0\.0\.0\.0:8000 \(BIND=\)/],
    ["NET-4", "a drop-in that replaces the command", P, dropIn("[Service]\nExecStart=\nExecStart=/opt/webapp/venv/bin/gunicorn --bind 0.0.0.0:8000 app:app\n"), /\(ExecStart --bind\)/],
    ["NET-4", "a socket unit on every address", P, (r) => addFile(r, "service-0-service", "/etc/systemd/system/webapp.socket", "[Socket]\nListenStream=8000\n\n[Install]\nWantedBy=sockets.target\n"), /webapp\.socket .* listens on 8000/],
    ["NET-4", "nginx proxies a path to another server", P, site((c) => c.replace("location / {\n        proxy_pass http://127.0.0.1:8000;", "location / {\n        proxy_pass http://10.0.0.11:8000;")), /proxies \/ to http:\/\/10\.0\.0\.11:8000/],
    ["NET-4", "ACME challenges passed on to a public address", P, site((c) => c.replace(/location \^~ \/\.well-known\/acme-challenge\/ \{[^}]*\}/, "location ^~ /.well-known/acme-challenge/ {\n        proxy_pass http://203.0.113.9:8404;\n    }")), /proxies \^~ \/\.well-known\/acme-challenge\/ to http:\/\/203\.0\.113\.9:8404/],
    ["NET-4", "pass: ACME challenges passed on to the fleet's certificate server", P, site((c) => c.replace(/location \^~ \/\.well-known\/acme-challenge\/ \{[^}]*\}/, "location ^~ /.well-known/acme-challenge/ {\n        proxy_pass http://10.0.0.10:8404;\n    }")), null],
    ["NET-4", "pass: gunicorn --bind 127.0.0.1:8000", P, exec("/opt/webapp/venv/bin/gunicorn --bind 127.0.0.1:8000 app:app"), null],
    ["NET-4", "pass: gunicorn on a unix socket", P, exec("/opt/webapp/venv/bin/gunicorn --bind unix:/run/webapp/app.sock app:app"), null],
    ["NET-4", "pass: uvicorn --host=::1", P, exec("/opt/webapp/venv/bin/uvicorn app:app --host=::1"), null],
    ["NET-4", "pass: python -m http.server --bind 127.0.0.1", P, exec("/usr/bin/python3 -m http.server 8000 --bind 127.0.0.1"), null],
    ["NET-4", "pass: a drop-in that sets the command back to loopback", P, dropIn("[Service]\nExecStart=\nExecStart=/opt/webapp/venv/bin/gunicorn -b 127.0.0.1:8000 app:app\n"), null],
    // SVC-5: nothing turns debugging or a development mode on in prod.
    ["SVC-5", "flask run --debug", P, exec("/opt/webapp/venv/bin/flask run --debug"), /the command line has --debug/],
    ["SVC-5", "gunicorn --reload", P, exec("/opt/webapp/venv/bin/gunicorn --reload app:app"), /--reload \(auto-reload, a development mode\)/],
    ["SVC-5", "gunicorn --log-level debug", P, exec("/opt/webapp/venv/bin/gunicorn --log-level debug app:app"), /--log-level debug/],
    ["SVC-5", "uvicorn --log-level=trace", P, exec("/opt/webapp/venv/bin/uvicorn app:app --log-level=trace"), /--log-level=trace/],
    ["SVC-5", "node --inspect", P, exec("/usr/bin/node --inspect=127.0.0.1:9229 server.js"), /opens the debugger \(--inspect=127\.0\.0\.1:9229\)/],
    ["SVC-5", "python -X dev", P, exec("/usr/bin/python3 -X dev -m app"), /-X dev/],
    ["SVC-5", "GUNICORN_CMD_ARGS=--reload", P, service('Environment="GUNICORN_CMD_ARGS=--reload"'), /--reload/],
    ["SVC-5", "DEBUG=1 (Django's setting)", P, service('Environment="DEBUG=1"'), /DEBUG=1 turns debugging on/],
    ["SVC-5", "a later assignment wins: FLASK_DEBUG=true after FLASK_DEBUG=0", P, service('Environment="FLASK_DEBUG=true"'), /FLASK_DEBUG=true turns debugging on/],
    ["SVC-5", "two assignments on one line", P, service('Environment="A=1" "NODE_ENV=development"'), /NODE_ENV=development is not production/],
    ["SVC-5", "a drop-in switching to development", P, dropIn("[Service]\nEnvironment=NODE_ENV=development\n"), /NODE_ENV=development is not production/],
    ["SVC-5", "LOG_LEVEL=DEBUG", P, service('Environment="LOG_LEVEL=DEBUG"'), /LOG_LEVEL=DEBUG/],
    ["SVC-5", "PYTHONDEVMODE=1", P, service('Environment="PYTHONDEVMODE=1"'), /PYTHONDEVMODE/],
    ["SVC-5", "RAILS_ENV=development", P, service('Environment="RAILS_ENV=development"'), /RAILS_ENV=development is not production/],
    ["SVC-5", "pass: --log-level info", P, exec("/opt/webapp/venv/bin/gunicorn --log-level info app:app"), null],
    ["SVC-5", "pass: a later FLASK_DEBUG=0 wins over an earlier 1", P, (r) => editFile(r, "service-0-service", UNIT, (c) => c.replace('Environment="FLASK_DEBUG=0"', 'Environment="FLASK_DEBUG=1"\nEnvironment="FLASK_DEBUG=0"')), null],
    ["SVC-5", "pass: staging may debug (SVC-5 is about prod)", S, exec("/opt/webapp/venv/bin/flask run --debug"), null],
    // TLS-1: plain HTTP only redirects, whichever file nginx loads the server from.
    ["TLS-1", "a port-80 server proxying the app in the http-context file", P, httpConf((c) => `${c}server {\n    listen 80;\n    server_name app.example.com;\n    location / {\n        proxy_pass http://127.0.0.1:8000;\n    }\n}\n`), /\/etc\/nginx\/conf\.d\/webapp\.conf .*the port-80 location \/ serves content/],
    ["TLS-1", "a server without listen (port 80 by default)", P, httpConf((c) => `${c}server {\n    root /var/www/html;\n}\n`), /the port-80 server serves content/],
    ["TLS-1", "a server in nginx.conf's http block", P, (r) => addFile(r, "proxy-0-nginx", "/etc/nginx/nginx.conf", "events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n    server {\n        listen 80 default_server;\n        location / {\n            proxy_pass http://127.0.0.1:8000;\n        }\n    }\n}\n"), /\/etc\/nginx\/nginx\.conf .*serves content instead of redirecting/],
    ["TLS-1", "a plain-HTTP server on another port", P, (r) => addFile(r, "proxy-0-nginx", "/etc/nginx/sites-enabled/internal", "server {\n    listen 8080;\n    location / {\n        proxy_pass http://127.0.0.1:8000;\n    }\n}\n"), /sites-enabled\/internal .*location \/ serves content/],
    ["TLS-1", "pass: a TLS server in the old style (ssl on)", P, httpConf((c) => `${c}server {\n    listen 8443;\n    ssl on;\n    location / {\n        proxy_pass http://127.0.0.1:8000;\n    }\n}\n`), null],
    ["TLS-1", "pass: a second port-80 server that only redirects", P, httpConf((c) => `${c}server {\n    listen 80;\n    server_name www.app.example.com;\n    location /.well-known/acme-challenge/ {\n        root /var/www/letsencrypt;\n    }\n    location / {\n        return 301 https://$host$request_uri;\n    }\n}\n`), null],
    // A load balancer's health listener: plain HTTP is fine where only the private network reaches it.
    ["TLS-1", "a plain server on a public address", P, (r) => addFile(r, "proxy-0-nginx", "/etc/nginx/sites-enabled/health", "server {\n    listen 203.0.113.5:8404;\n    location / {\n        proxy_pass http://127.0.0.1:8000;\n    }\n}\n"), /sites-enabled\/health .*location \/ serves content/],
    ["TLS-1", "a plain server on a private and a public address", P, (r) => addFile(r, "proxy-0-nginx", "/etc/nginx/sites-enabled/health", "server {\n    listen 10.0.0.10:8404;\n    listen 8405;\n    location / {\n        proxy_pass http://127.0.0.1:8000;\n    }\n}\n"), /sites-enabled\/health .*location \/ serves content/],
    ["TLS-1", "pass: a health listener on a private address only", P, (r) => addFile(r, "proxy-0-nginx", "/etc/nginx/sites-enabled/health", "server {\n    listen 10.0.0.10:8404;\n    listen [fd00::10]:8404;\n    location = /health {\n        proxy_pass http://127.0.0.1:8000;\n    }\n}\n"), null],
    // HDR-1..5 and TLS-4: add_header inheritance (a level with its own add_header inherits none from above).
    ["HDR-5", "a location with its own add_header drops the CSP", P, site((c) => c.replace("location / {\n        proxy_pass", 'location / {\n        add_header Cache-Control "no-store";\n        proxy_pass')), /location \/ sets its own headers and so drops the Content-Security-Policy/],
    ["HDR-5", "a location repeating the CSP with unsafe-inline", P, site((c) => c.replace("location / {\n        proxy_pass", `location / {\n        add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'unsafe-inline'" always;\n        proxy_pass`)), /the CSP in location \/ allows 'unsafe-inline' for scripts/],
    ["HDR-1", "an if block with its own add_header drops nosniff", P, site((c) => c.replace("location / {\n        proxy_pass", 'location / {\n        if ($request_method = POST) {\n            add_header X-Debug "1";\n        }\n        proxy_pass')), /location \/ > if \(\$request_method = POST\) sets its own headers and so drops X-Content-Type-Options/],
    ["HDR-1", "the server sets one header of its own and loses the http context's", P, (r) => {
        headersToHttp(r);
        site((c) => c.replace("    ssl_protocols", '    add_header X-Robots-Tag "noindex" always;\n    ssl_protocols'))(r);
    }, /X-Content-Type-Options is not set/],
    ["HDR-1", "pass: every header inherited from the http context", P, headersToHttp, null],
    ["TLS-4", "a location with its own add_header drops HSTS", P, site((c) => c.replace("location /api/ {\n", 'location /api/ {\n        add_header Cache-Control "no-store" always;\n')), /location \/api\/ drops HSTS with its own add_header/],
    ["TLS-4", "HSTS without includeSubDomains in the http context", P, (r) => { headersToHttp(r); httpConf((c) => c.replace("max-age=63072000; includeSubDomains", "max-age=63072000"))(r); }, /HSTS lacks includeSubDomains/],
    ["TLS-4", "pass: HSTS inherited from the http context", P, headersToHttp, null],
    // HDR-2..4: header values as browsers read them.
    ["HDR-2", "X-Frame-Options ALLOW-FROM (ignored by browsers)", P, site((c) => c.replace('X-Frame-Options "DENY"', 'X-Frame-Options "ALLOW-FROM https://example.com"')), /X-Frame-Options is "ALLOW-FROM https:\/\/example\.com"/],
    ["HDR-2", "pass: SAMEORIGIN in lower case", P, site((c) => c.replace('X-Frame-Options "DENY"', 'X-Frame-Options "sameorigin"')), null],
    ["HDR-3", "a fallback list ending in unsafe-url", P, site((c) => c.replace('Referrer-Policy "strict-origin-when-cross-origin"', 'Referrer-Policy "no-referrer, unsafe-url"')), /Referrer-Policy is "no-referrer, unsafe-url"/],
    ["HDR-3", "pass: a fallback list whose last known token is strict", P, site((c) => c.replace('Referrer-Policy "strict-origin-when-cross-origin"', 'Referrer-Policy "no-referrer, strict-origin-when-cross-origin, x-future-policy"')), null],
    ["HDR-4", "the camera allowed to the site itself", P, site((c) => c.replace("camera=()", "camera=(self)")), /Permissions-Policy is "camera=\(self\)/],
    ["HDR-4", "a later entry for the same feature wins", P, site((c) => c.replace("usb=()", "usb=(), microphone=*")), /Permissions-Policy is ".*microphone=\*"/],
    ["HDR-4", "pass: spaces inside the parentheses and around the members", P, site((c) => c.replace("camera=(), microphone=(), geolocation=()", "camera=( ), microphone=() ,geolocation=()")), null],
    // A structured-field dictionary (RFC 8941) allows no space between a key and its `=`: a browser drops the header.
    ["HDR-4", "a space before = makes the whole header unreadable", P, site((c) => c.replace("camera=(), microphone=(), geolocation=()", "camera = (), microphone=(), geolocation=()")), /Permissions-Policy is "camera = \(\)/],
    ["HDR-4", "an uppercase key makes the whole header unreadable", P, site((c) => c.replace("camera=()", "Camera=()")), /Permissions-Policy is "Camera=\(\)/],
    // PX-2: the location nginx picks for a dotfile.
    ["PX-2", "a ^~ prefix that serves files skips the dotfile regex", P, site((c) => c.replace("    location / {\n        proxy_pass", "    location ^~ /static/ {\n        alias /var/www/static/;\n        types { }\n        default_type application/octet-stream;\n    }\n\n    location / {\n        proxy_pass")), /\/static\/\.git\/HEAD is answered by location \^~ \/static\/, which does not refuse it \(\^~ stops nginx/],
    ["PX-2", "an earlier regex location answers dotfiles first", P, site((c) => c.replace("    location ~ /\\. {", "    location ~ \\.(env|php)$ {\n        proxy_pass http://127.0.0.1:8000;\n    }\n\n    location ~ /\\. {")), /\/\.env is answered by location ~ \\\.\(env\|php\)\$, which does not refuse it/],
    ["PX-2", "pass: a case-insensitive dotfile regex that denies all", P, site((c) => c.replace("    location ~ /\\. {\n        return 404;\n    }", "    location ~* /\\.(?!well-known) {\n        deny all;\n    }")), null],
    // DB-1 and DB-5: Aurora as well as RDS instances.
    ["DB-1", "an Aurora cluster instance publicly accessible", R, (r) => addResource(r, "aws:rds/clusterInstance:ClusterInstance", "aurora-1", { clusterIdentifier: "aurora", instanceClass: "db.t4g.medium", engine: "aurora-postgresql", publiclyAccessible: true }), /aurora-1 is publicly accessible/],
    ["DB-5", "an Aurora cluster without encryption or deletion protection", R, (r) => addResource(r, "aws:rds/cluster:Cluster", "aurora", { engine: "aurora-postgresql", backupRetentionPeriod: 1 }), /aurora: storage is not encrypted; backup retention is 1 days; deletion protection is off/],
    ["DB-5", "an RDS instance with a 3-day retention", R, (r) => { res(r, "database-instance").inputs.backupRetentionPeriod = 3; res(r, "database-instance").outputs.backupRetentionPeriod = 3; }, /backup retention is 3 days/],
    ["DB-5", "pass: a protected Aurora cluster", R, (r) => addResource(r, "aws:rds/cluster:Cluster", "aurora", { engine: "aurora-postgresql", storageEncrypted: true, backupRetentionPeriod: 14, deletionProtection: true }), null],
    // SEC-3: the recovery window.
    ["SEC-3", "a recovery window of 3 days", P, (r) => { for (const s of r.resources.filter((x) => x.type === "aws:secretsmanager/secret:Secret")) { s.inputs.recoveryWindowInDays = 3; s.outputs.recoveryWindowInDays = 3; } }, /can be deleted for good after 3 days/],
    ["SEC-3", "deleted at once (0)", P, (r) => { for (const s of r.resources.filter((x) => x.type === "aws:secretsmanager/secret:Secret")) { s.inputs.recoveryWindowInDays = 0; s.outputs.recoveryWindowInDays = 0; } }, /is deleted at once \(recoveryWindowInDays 0\)/],
    ["SEC-3", "pass: the default window (30 days) when unset", P, (r) => { for (const s of r.resources.filter((x) => x.type === "aws:secretsmanager/secret:Secret")) { delete s.inputs.recoveryWindowInDays; delete s.outputs.recoveryWindowInDays; } }, null],
    // TLS-1: every listener that speaks plain HTTP, however it is declared.
    ["TLS-1", "one server listening on 80 and 443 ssl serves the app on both", P, site((c) => c.replace("listen 443 ssl http2;", "listen 80;\n    listen 443 ssl http2;")), /the port-80 location \/ serves content/],
    ["TLS-1", "pass: a catch-all port-80 server that closes the connection (444)", P, httpConf((c) => `${c}server {\n    listen 80 default_server;\n    return 444;\n}\n`), null],
    // TLS-2: the protocols nginx ends up offering (repeated ssl_protocols are ORed; Debian's nginx.conf sets TLSv1 and TLSv1.1 at the http level; OpenSSL's Protocol command applies last).
    ["TLS-2", "a second ssl_protocols in the server adds TLSv1.1 (nginx ORs them)", P, site((c) => c.replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_protocols TLSv1.1;")), /offers TLSv1\.1; allow TLSv1\.2 and TLSv1\.3 only/],
    ["TLS-2", "ssl_protocols only at the http level, ORed with Debian's nginx.conf", P, (r) => { site((c) => c.replace("    ssl_protocols TLSv1.2 TLSv1.3;\n", ""))(r); httpConf((c) => `${c}ssl_protocols TLSv1.2 TLSv1.3;\n`)(r); }, /offers TLSv1, TLSv1\.1 \(the server sets no ssl_protocols, and at the http level Debian's nginx\.conf enables TLSv1 and TLSv1\.1, ORed with any other/],
    ["TLS-2", "ssl_conf_command Protocol ALL switches the old protocols back on", P, site((c) => c.replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_conf_command Protocol ALL;")), /offers SSLv3, TLSv1, TLSv1\.1/],
    ["TLS-2", "ssl_conf_command Protocol in the http context (inherited)", P, httpConf((c) => `${c}ssl_conf_command Protocol +TLSv1.1;\n`), /offers TLSv1\.1/],
    ["TLS-2", "pass: a shipped nginx.conf whose http block sets only TLSv1.2 and TLSv1.3", P, (r) => { site((c) => c.replace("    ssl_protocols TLSv1.2 TLSv1.3;\n", ""))(r); addFile(r, "proxy-0-nginx", "/etc/nginx/nginx.conf", "events {}\nhttp {\n    ssl_protocols TLSv1.2 TLSv1.3;\n    include /etc/nginx/conf.d/*.conf;\n    include /etc/nginx/sites-enabled/*;\n}\n"); }, null],
    ["TLS-2", "pass: ssl_conf_command Protocol that only removes", P, site((c) => c.replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_conf_command Protocol -TLSv1.2;")), null],
    // TLS-3: the cipher string OpenSSL ends up with, in its own syntax.
    ["TLS-3", "ssl_conf_command CipherString overrides ssl_ciphers", P, site((c) => c.replace("ssl_prefer_server_ciphers off;", "ssl_prefer_server_ciphers off;\n    ssl_conf_command CipherString DEFAULT;")), /ssl_conf_command CipherString includes DEFAULT/],
    ["TLS-3", "an alias with exclusions still admits CBC (HIGH:!aNULL:!MD5)", P, site((c) => c.replace(/ssl_ciphers [^;]+;/, "ssl_ciphers HIGH:!aNULL:!MD5;")), /ssl_ciphers includes HIGH;/],
    ["TLS-3", "an intersection without AEAD (ECDHE+AES256)", P, site((c) => c.replace(/ssl_ciphers [^;]+;/, "ssl_ciphers ECDHE+AESGCM:ECDHE+AES256;")), /includes ECDHE\+AES256;/],
    ["TLS-3", "ciphers only at the http level, weak", P, (r) => { site((c) => c.replace(/ {4}ssl_ciphers [^;]+;\n/, ""))(r); httpConf((c) => `${c}ssl_ciphers ECDHE-RSA-AES128-SHA;\n`)(r); }, /includes ECDHE-RSA-AES128-SHA/],
    ["TLS-3", "pass: alias intersections of ECDHE and AEAD with exclusions", P, site((c) => c.replace(/ssl_ciphers [^;]+;/, "ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:@SECLEVEL=2;")), null],
    // TLS-5: certbot's flags in all their spellings, and renewal left on.
    ["TLS-5", "--test-cert (the staging alias) in prod", P, certbot((w) => `${w} '--test-cert'`), /asks the Let's Encrypt staging CA in prod \(--test-cert\)/],
    ["TLS-5", "--server pointing at the staging directory in prod", P, certbot((w) => `${w} --server=https://acme-staging-v02.api.letsencrypt.org/directory`), /asks the Let's Encrypt staging CA in prod/],
    ["TLS-5", "--server pointing at another CA", P, certbot((w) => `${w} --server https://acme.zerossl.com/v2/DV90`), /asks the ACME server https:\/\/acme\.zerossl\.com\/v2\/DV90, not Let's Encrypt/],
    ["TLS-5", "--no-autorenew", P, certbot((w) => `${w} --no-autorenew`), /with --no-autorenew, so the certificate expires/],
    ["TLS-5", "certbot.timer disabled", P, (r) => editScript(r, "proxy-0-nginx", (s) => `${s}\nsystemctl disable --now certbot.timer\n`), /stops or disables certbot\.timer/],
    ["TLS-5", "pass: --renew-hook, the deploy hook's old name", P, certbot((w) => w.replace("'--deploy-hook'", "'--renew-hook'")), null],
    ["TLS-5", "pass: staging with --test-cert", S, certbot((w) => w.replace("'--staging'", "'--test-cert'")), null],
    // TLS-6: session tickets inherited from the http context.
    ["TLS-6", "session tickets back on from the http context", P, (r) => { site((c) => c.replace("    ssl_session_tickets off;\n", ""))(r); httpConf((c) => `${c}ssl_session_tickets on;\n`)(r); }, /ssl_session_tickets is not off/],
    ["TLS-6", "pass: session settings in the http context", P, (r) => { site((c) => c.replace("    ssl_session_cache shared:webapp_tls:10m;\n", "").replace("    ssl_session_tickets off;\n", ""))(r); httpConf((c) => `${c}ssl_session_cache shared:webapp_tls:10m;\nssl_session_tickets off;\n`)(r); }, null],
    // HDR-6: server_tokens in each level.
    ["HDR-6", "a location turns server_tokens back on", P, site((c) => c.replace("location /api/ {\n", "location /api/ {\n        server_tokens on;\n")), /location \/api\/ sets server_tokens on/],
    ["HDR-6", "the server level says build", P, site((c) => c.replace("client_max_body_size 10m;", "client_max_body_size 10m;\n    server_tokens build;")), /server_tokens is build/],
    ["HDR-6", "pass: server_tokens off repeated in a location", P, site((c) => c.replace("location /api/ {\n", "location /api/ {\n        server_tokens off;\n")), null],
    // PX-3: the body size limit in every location.
    ["PX-3", "a location without a body limit (0)", P, site((c) => c.replace("location /api/ {\n", "location /api/ {\n        client_max_body_size 0;\n")), /location \/api\/ sets client_max_body_size 0/],
    ["PX-3", "a nested location without a body limit (0k)", P, site((c) => c.replace("location /api/ {\n", "location /api/ {\n        location /api/upload {\n            client_max_body_size 0k;\n            proxy_pass http://127.0.0.1:8000;\n        }\n")), /location \/api\/ > location \/api\/upload sets client_max_body_size 0/],
    ["PX-3", "pass: a larger limit for one location", P, site((c) => c.replace("location /api/ {\n", "location /api/ {\n        client_max_body_size 100m;\n")), null],
    // PX-1: proxy_set_header inherited as a whole.
    ["PX-1", "a location with one proxy_set_header of its own drops the others", P, site((c) => c.replace("location /api/ {\n", "location /api/ {\n        proxy_set_header X-Api 1;\n")), /location \/api\/ does not pass Host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto/],
    ["PX-1", "a nested proxying location", P, site((c) => c.replace("location /api/ {\n", "location /api/ {\n        location /api/ws {\n            proxy_set_header Upgrade $http_upgrade;\n            proxy_pass http://127.0.0.1:8000;\n        }\n")), /location \/api\/ > location \/api\/ws does not pass Host/],
    ["PX-1", "an empty value sends no header", P, site((c) => c.replace("location /api/ {\n", 'location /api/ {\n        proxy_set_header Host $host;\n        proxy_set_header X-Real-IP "";\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Forwarded-Proto $scheme;\n')), /location \/api\/ does not pass X-Real-IP/],
    ["PX-1", "pass: every header and timeout from the http context", P, (r) => {
        let moved = "";
        site((c) => c.replace(/^ {4}proxy_(set_header|[a-z]+_timeout) [^\n]*\n/gm, (line) => ((moved += line.trim() + "\n"), "")))(r);
        httpConf((c) => c + moved)(r);
    }, null],
    // RL-1 and RL-2: limits that hold per real client.
    ["RL-1", "the login zone keyed on the server name (one bucket for everyone)", P, httpConf((c) => c.replace("limit_req_zone $binary_remote_addr zone=webapp_login", "limit_req_zone $server_name zone=webapp_login")), /zone webapp_login \(location = \/login\) counts requests by \$server_name, not per client/],
    ["RL-1", "the login zone keyed on X-Forwarded-For (any client picks its own key)", P, httpConf((c) => c.replace("limit_req_zone $binary_remote_addr zone=webapp_login", "limit_req_zone $http_x_forwarded_for zone=webapp_login")), /counts requests by \$http_x_forwarded_for/],
    ["RL-1", "a dry run in the login location", P, site((c) => c.replace("limit_req zone=webapp_login burst=4 nodelay;", "limit_req zone=webapp_login burst=4 nodelay;\n        limit_req_dry_run on;")), /location = \/login runs limit_req_dry_run on/],
    ["RL-1", "a dry run for the whole http context", P, httpConf((c) => `${c}limit_req_dry_run on;\n`), /runs limit_req_dry_run on/],
    ["RL-1", "the client address taken from X-Forwarded-For trusted from everyone", P, httpConf((c) => `${c}set_real_ip_from 0.0.0.0/0;\nreal_ip_header X-Forwarded-For;\n`), /set_real_ip_from 0\.0\.0\.0\/0 takes the client address from X-Forwarded-For, which any client can set/],
    ["RL-1", "the login location answers 503 again", P, site((c) => c.replace("limit_req zone=webapp_login burst=4 nodelay;", "limit_req zone=webapp_login burst=4 nodelay;\n        limit_req_status 503;")), /location = \/login answers limited requests 503/],
    ["RL-1", "the login location and its limit removed", P, site((c) => c.replace("    location = /login {\n        limit_req zone=webapp_login burst=4 nodelay;\n        proxy_pass http://127.0.0.1:8000;\n    }\n", "")), /no location is limited to <= 5 requests per minute/],
    ["RL-1", "pass: a map keyed on the client address with an allow-list", P, httpConf((c) => c.replace("limit_req_zone $binary_remote_addr zone=webapp_login", 'geo $limited {\n    default 1;\n    10.0.0.0/8 0;\n}\nmap $limited $login_key {\n    0 "";\n    1 $binary_remote_addr;\n}\nlimit_req_zone $login_key zone=webapp_login')), null],
    ["RL-1", "pass: the login limit inherited from the server level", P, site((c) => c.replace("        limit_req zone=webapp_login burst=4 nodelay;\n", "").replace("    location ~ /\\. {", "    limit_req zone=webapp_login burst=4 nodelay;\n\n    location ~ /\\. {")), null],
    ["RL-1", "pass: the real address trusted only from a private load balancer", P, httpConf((c) => `${c}set_real_ip_from 10.0.1.5;\nreal_ip_header X-Forwarded-For;\n`), null],
    ["RL-2", "the API zone keyed on the request URI", P, httpConf((c) => c.replace("limit_req_zone $binary_remote_addr zone=webapp_api", "limit_req_zone $request_uri zone=webapp_api")), /zone webapp_api \(location \/api\/\) counts requests by \$request_uri/],
    ["RL-2", "a dry run in the API location", P, site((c) => c.replace("limit_req zone=webapp_api burst=20 nodelay;", "limit_req zone=webapp_api burst=20 nodelay;\n        limit_req_dry_run on;")), /location \/api\/ runs limit_req_dry_run on/],
    ["RL-2", "pass: the API limit keyed on $remote_addr", P, httpConf((c) => c.replace("limit_req_zone $binary_remote_addr zone=webapp_api", "limit_req_zone $remote_addr zone=webapp_api")), null],
    ["HDR-5", "pass: the CSP inherited from the http context", P, headersToHttp, null],
    // HDR-5: the script sources a browser actually uses.
    ["HDR-5", "script-src-elem with unsafe-inline", P, csp((p) => `${p}; script-src-elem 'self' 'unsafe-inline'`), /allows 'unsafe-inline' for script elements \(script-src-elem\)/],
    ["HDR-5", "script-src-attr with unsafe-inline", P, csp((p) => `${p}; script-src-attr 'unsafe-inline'`), /for inline event handlers \(script-src-attr\)/],
    ["HDR-5", "unsafe-eval", P, csp((p) => p.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")), /allows 'unsafe-eval' for scripts/],
    ["HDR-5", "any https host", P, csp((p) => p.replace("script-src 'self'", "script-src 'self' https:")), /allows https: for scripts/],
    ["HDR-5", "a wildcard", P, csp((p) => p.replace("script-src 'self'", "script-src *")), /allows \* for scripts/],
    ["HDR-5", "data: scripts", P, csp((p) => p.replace("script-src 'self'", "script-src 'self' data:")), /allows data: for scripts/],
    ["HDR-5", "upper case keywords", P, csp((p) => p.replace("script-src 'self'", "script-src 'self' 'UNSAFE-INLINE'")), /allows 'unsafe-inline' for scripts/],
    ["HDR-5", "no script-src: default-src decides", P, csp((p) => p.replace("default-src 'self'", "default-src 'self' 'unsafe-inline'").replace(/script-src 'self'; /, "")), /allows 'unsafe-inline' for scripts \(default-src\)/],
    ["HDR-5", "no script source at all", P, csp(() => "img-src 'self'; frame-ancestors 'none'"), /sets no script source/],
    ["HDR-5", "only a report-only policy", P, site((c) => c.replace("add_header Content-Security-Policy ", "add_header Content-Security-Policy-Report-Only ")), /Content-Security-Policy is not sent/],
    ["HDR-5", "pass: unsafe-inline next to a nonce (browsers ignore it)", P, csp((p) => p.replace("script-src 'self'", "script-src 'self' 'unsafe-inline' 'nonce-r4nd0m'")), null],
    ["HDR-5", "pass: a hash", P, csp((p) => p.replace("script-src 'self'", "script-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='")), null],
    // SVC-4 and SEC-5: a generated secret by value, in any spelling, wherever it is not a secret.
    ["SVC-4", "the password in a DSN in Environment=", P, (r) => service(`Environment="DATABASE_URL=postgresql://webapp:${password(r)}@localhost/webapp"`)(r), /holds the generated secret app-db-password in an Environment= line/],
    ["SVC-4", "the password base64-encoded under an innocent name", P, (r) => service(`Environment="BLOB=${b64(`webapp:${password(r)}`)}"`)(r), /holds the generated secret app-db-password in an Environment= line/],
    ["SVC-4", "the password on the command line", P, (r) => exec(`/opt/webapp/venv/bin/gunicorn --config /opt/webapp/gunicorn.conf.py app:app --db-password ${password(r)}`)(r), /app-db-password on a command line, visible in ps/],
    ["SVC-4", "the password in a world-readable file", P, (r) => addFile(r, "service-0-service", "/opt/webapp/config.ini", `[db]\npassword = ${password(r)}\n`), /\/opt\/webapp\/config\.ini .* app-db-password in a file of mode 0644 root:root/],
    ["SVC-4", "a secret placeholder the host would fill into the unit", P, service('Environment="DB=@@secret:db-password@@"'), /holds the generated secret db-password in an Environment= line/],
    ["SVC-4", "pass: the password in a root-only 0600 file", P, (r) => addFile(r, "service-0-service", "/etc/webapp/extra.conf", `password = ${password(r)}\n`, "0600"), null],
    ["SEC-5", "pass: the password's name (not its value) in a label", P, (r) => ((res(r, "web-server-0").inputs.labels as Record<string, string>).secret = "app-db-password"), null],
    ["SEC-5", "the password base64-encoded in a server label", P, (r) => ((res(r, "web-server-0").inputs.labels as Record<string, string>).blob = b64(password(r))), /web-server-0 carries the generated secret app-db-password in labels/],
    ["SEC-5", "an access key secret URL-encoded in user data", P, (r) => {
        const key = res(r, "app-access-key").outputs.secret as { value: string };
        key.value = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        res(r, "web-server-0").inputs.userData = `${res(r, "web-server-0").inputs.userData}# ${encodeURIComponent(key.value)}\n`;
    }, /web-server-0 carries the generated secret app-access-key in userData/],
    // HOST-4 and HOST-5: every resource that defines a server's metadata service or disks, and the account defaults.
    ["HOST-4", "metadata options left unset (EC2 answers IMDSv1)", R, (r) => unset(r, "web-server-0", "metadataOptions"), /web-server-0 answers IMDSv1 \(httpTokens "unset, EC2's default optional"\)/],
    ["HOST-4", "a launch template with optional tokens", R, (r) => addResource(r, "aws:ec2/launchTemplate:LaunchTemplate", "app-template", { metadataOptions: { httpTokens: "optional" } }), /app-template answers IMDSv1/],
    ["HOST-4", "pass: the metadata service disabled", R, (r) => (res(r, "web-server-0").inputs.metadataOptions = { httpEndpoint: "disabled" }), null],
    ["HOST-4", "pass: tokens required account-wide, the instance silent", R, (r) => {
        unset(r, "web-server-0", "metadataOptions");
        addResource(r, "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults", "imds-defaults", { httpTokens: "required", httpPutResponseHopLimit: 1 });
    }, null],
    ["HOST-5", "no root block device settings (unencrypted by default)", R, (r) => unset(r, "web-server-0", "rootBlockDevice"), /web-server-0: the root volume is not encrypted/],
    ["HOST-5", "an unencrypted extra block device", R, (r) => (res(r, "web-server-0").inputs.ebsBlockDevices = [{ deviceName: "/dev/sdg", volumeSize: 10 }]), /the block device \/dev\/sdg is not encrypted/],
    ["HOST-5", "an unencrypted EBS volume", R, (r) => addResource(r, "aws:ebs/volume:Volume", "scratch", { availabilityZone: "eu-central-1a", size: 10 }), /scratch: the volume is not encrypted/],
    ["HOST-5", "a launch template with an unencrypted mapping", R, (r) => addResource(r, "aws:ec2/launchTemplate:LaunchTemplate", "app-template", { metadataOptions: { httpTokens: "required" }, blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 20, encrypted: "false" } }] }), /app-template: the launch template's \/dev\/xvda is not encrypted/],
    ["HOST-5", "pass: EBS encryption by default for the account", R, (r) => {
        unset(r, "web-server-0", "rootBlockDevice");
        addResource(r, "aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs-default", { enabled: true });
    }, null],
    // SSH-1..3: sshd's effective configuration: the first value read across sshd_config and its drop-ins, and Match blocks.
    ["SSH-2", "a drop-in read before the hardening one turns passwords on", P, sshdDropIn("05-cloud.conf", "PasswordAuthentication yes\n"), /05-cloud\.conf has passwordauthentication yes/],
    ["SSH-2", "a Match block allows passwords for an address range", P, (r) => editFile(r, "host-0-ssh", SSHD, (c) => `${c}Match Address 10.0.0.0/8\n    PasswordAuthentication yes\n`), /Match Address 10\.0\.0\.0\/8 in \/etc\/ssh\/sshd_config\.d\/10-hardening\.conf has passwordauthentication yes/],
    ["SSH-2", "the deprecated ChallengeResponseAuthentication, read first", P, sshdDropIn("01-legacy.conf", "ChallengeResponseAuthentication yes\n"), /kbdinteractiveauthentication yes/],
    ["SSH-2", "AuthenticationMethods admitting a password", P, sshdDropIn("02-methods.conf", "AuthenticationMethods publickey,password\n"), /AuthenticationMethods publickey,password, which admits a password/],
    ["SSH-2", "a shipped sshd_config without the Include and with passwords on", P, (r) => addFile(r, "host-0-ssh", "/etc/ssh/sshd_config", "PasswordAuthentication yes\nUsePAM yes\n"), /\/etc\/ssh\/sshd_config has passwordauthentication yes/],
    ["SSH-2", "pass: a drop-in read after the hardening one (its value never wins)", P, sshdDropIn("50-cloud-init.conf", "PasswordAuthentication yes\n"), null],
    ["SSH-2", "pass: KbdInteractiveAuthentication left to Debian's sshd_config (no)", P, (r) => editFile(r, "host-0-ssh", SSHD, (c) => c.replace("KbdInteractiveAuthentication no\n", "")), null],
    ["SSH-1", "a Match block lets root in", P, (r) => editFile(r, "host-0-ssh", SSHD, (c) => `${c}Match User root\n    PermitRootLogin yes\n`), /Match User root .* has PermitRootLogin yes/],
    ["SSH-1", "an earlier drop-in allows root with keys", P, sshdDropIn("00-root.conf", "PermitRootLogin prohibit-password\n"), /00-root\.conf has PermitRootLogin prohibit-password/],
    ["SSH-1", "pass: a later drop-in cannot undo the first value sshd reads", P, sshdDropIn("99-local.conf", "PermitRootLogin yes\n"), null],
    ["SSH-1", "pass: a Match block for another user that keeps root out", P, (r) => editFile(r, "host-0-ssh", SSHD, (c) => `${c}Match User deploy\n    PermitRootLogin no\n`), null],
    ["SSH-1", "PermitRootLogin left unset everywhere (sshd's default prohibit-password)", P, (r) => editFile(r, "host-0-ssh", SSHD, (c) => c.replace("PermitRootLogin no\n", "")), /PermitRootLogin prohibit-password \(unset: sshd's default\)/],
    ["SSH-3", "a Match block turns TCP forwarding on for the admin", P, (r) => editFile(r, "host-0-ssh", SSHD, (c) => `${c}Match User deploy\n    AllowTcpForwarding yes\n`), /Match User deploy .*: allowtcpforwarding is yes, not no/],
    ["SSH-3", "an earlier drop-in raises MaxAuthTries", P, sshdDropIn("00-tries.conf", "MaxAuthTries 10\n"), /00-tries\.conf: MaxAuthTries is 10, not <= 3/],
    ["SSH-3", "pass: a Match block that tightens", P, (r) => editFile(r, "host-0-ssh", SSHD, (c) => `${c}Match Address 192.0.2.0/24\n    MaxAuthTries 1\n`), null],
    // BK-6: the bucket refuses plain HTTP, as IAM evaluates the statement; the writer can only put.
    ["BK-6", "the TLS deny covers only PutObject", P, doc("offsite-tls-only", (d) => (d.Statement[0].Action = "s3:PutObject")), /no bucket policy denies requests without TLS/],
    ["BK-6", "the TLS deny covers the bucket but not its objects", P, doc("offsite-tls-only", (d) => (d.Statement[0].Resource = d.Statement[0].Resource[0])), /no bucket policy denies requests without TLS/],
    ["BK-6", "the TLS deny is for one account only", P, doc("offsite-tls-only", (d) => (d.Statement[0].Principal = { AWS: "arn:aws:iam::123456789012:root" })), /denies requests without TLS/],
    ["BK-6", "the condition inverted", P, doc("offsite-tls-only", (d) => (d.Statement[0].Condition = { Bool: { "aws:SecureTransport": "true" } })), /denies requests without TLS/],
    ["BK-6", "NotAction leaves reads over HTTP", P, doc("offsite-tls-only", (d) => {
        delete d.Statement[0].Action;
        d.Statement[0].NotAction = ["s3:GetObject"];
    }), /denies requests without TLS/],
    ["BK-6", "the writer allowed everything but delete (NotAction)", P, doc("offsite-writer-policy", (d) => {
        delete d.Statement[0].Action;
        d.Statement[0].NotAction = ["s3:DeleteObject"];
    }), /everything but s3:DeleteObject \(NotAction\)/],
    ["BK-6", "the writer with s3:Put* (which includes PutBucketPolicy)", P, doc("offsite-writer-policy", (d) => (d.Statement[0].Action = ["s3:Put*"])), /lets the backup writer do s3:Put\*/],
    ["BK-6", "a managed policy attached to the writer", P, (r) => addResource(r, "aws:iam/userPolicyAttachment:UserPolicyAttachment", "writer-s3-full", { user: res(r, "offsite-writer-policy").inputs.user, policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" }), /writer-s3-full attaches arn:aws:iam::aws:policy\/AmazonS3FullAccess to the backup writer/],
    ["BK-6", "pass: the condition in another spelling (BoolIfExists, lower case key, a boolean)", P, doc("offsite-tls-only", (d) => (d.Statement[0].Condition = { BoolIfExists: { "aws:securetransport": false } })), null],
    ["BK-6", "pass: Principal {AWS: *} and Action *", P, doc("offsite-tls-only", (d) => {
        d.Statement[0].Principal = { AWS: "*" };
        d.Statement[0].Action = ["*"];
    }), null],
    // BK-2: overlapping lifecycle rules: the shortest expiration that reaches a tier decides.
    ["BK-2", "a rule for every object expiring after 7 days", P, (r) => lifecycleRules(r).push({ id: "cleanup", status: "Enabled", filter: { prefix: "" }, expiration: { days: 7 } }), /expires daily copies after 7 days \(rule cleanup, prefix "", overlaps them\)/],
    ["BK-2", "a rule-level prefix (the old form) over the weekly copies", P, (r) => lifecycleRules(r).push({ id: "old-style", status: "Enabled", prefix: "backups/", expiration: { days: 60 } }), /expires weekly copies after 60 days \(rule old-style/],
    ["BK-2", "pass: the same rule disabled", P, (r) => lifecycleRules(r).push({ id: "cleanup", status: "Disabled", filter: { prefix: "" }, expiration: { days: 7 } }), null],
    ["BK-2", "pass: a short rule for another prefix", P, (r) => lifecycleRules(r).push({ id: "tmp", status: "Enabled", filter: { prefix: "tmp/" }, expiration: { days: 1 } }), null],
    // SEC-6: only the app reads its secrets, whatever form the grant takes.
    ["SEC-6", "NotAction (everything but one thing)", P, doc("app-read-policy", (d) => {
        delete d.Statement[0].Action;
        d.Statement[0].NotAction = ["iam:*"];
    }), /allows everything but iam:\* \(NotAction\), Secrets Manager included/],
    ["SEC-6", "a wildcard action that deletes too", P, doc("app-read-policy", (d) => (d.Statement[0].Action = ["secretsmanager:*Secret*"])), /allows secretsmanager:\*Secret\* on Secrets Manager/],
    ["SEC-6", "a resource pattern that also matches other applications' secrets", P, doc("app-read-policy", (d) => (d.Statement[0].Resource = "arn:aws:secretsmanager:*:*:secret:*")), /allows reading every secret \(arn:aws:secretsmanager:\*:\*:secret:\*\)/],
    ["SEC-6", "NotResource (every other secret)", P, doc("app-read-policy", (d) => {
        delete d.Statement[0].Resource;
        d.Statement[0].NotResource = "arn:aws:secretsmanager:*:*:secret:admin/*";
    }), /NotResource \(every other secret\)/],
    ["SEC-6", "SecretsManagerReadWrite attached to the app's user", P, (r) => addResource(r, "aws:iam/userPolicyAttachment:UserPolicyAttachment", "app-sm-rw", { user: "webapp-prod-app", policyArn: "arn:aws:iam::aws:policy/SecretsManagerReadWrite" }), /app-sm-rw grants arn:aws:iam::aws:policy\/SecretsManagerReadWrite/],
    ["SEC-6", "a secret policy open to every principal", P, (r) => addResource(r, "aws:secretsmanager/secretPolicy:SecretPolicy", "db-open", { secretArn: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:webapp/prod/db-password", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "secretsmanager:GetSecretValue", Resource: "*" }] }) }), /db-open lets every principal/],
    ["SEC-6", "pass: the actions in another case", P, doc("app-read-policy", (d) => (d.Statement[0].Action = ["SecretsManager:GetSecretValue"])), null],
    // SSH-4 and LOG-2: the jails as fail2ban reads its files (jail.conf, jail.d/*.conf, jail.local, jail.d/*.local; [DEFAULT] under each jail).
    ["SSH-4", "a later .local file disables the jail", P, f2b("/etc/fail2ban/jail.d/zz-local.local", "[sshd]\nenabled = false\n"), /enabled = false \(\/etc\/fail2ban\/jail\.d\/zz-local\.local\)/],
    ["SSH-4", "a boolean spelling that is false (no)", P, f2b("/etc/fail2ban/jail.d/zz-local.local", "[sshd]\nenabled = no\n"), /enabled = no/],
    ["SSH-4", "jail.local's [DEFAULT] under a jail that no longer sets bantime", P, (r) => { sshdJail((c) => c.replace("bantime = 3600\n", ""))(r); f2b("/etc/fail2ban/jail.local", "[DEFAULT]\nbantime = 10m\n")(r); }, /bantime = 10m \(\/etc\/fail2ban\/jail\.local\)/],
    ["SSH-4", "bantime left to fail2ban's stock default", P, sshdJail((c) => c.replace("bantime = 3600\n", "")), /bantime = 10m \(fail2ban's stock default\)/],
    ["SSH-4", "findtime in minutes (5m)", P, sshdJail((c) => c.replace("findtime = 600", "findtime = 5m")), /findtime = 5m/],
    ["SSH-4", "the jail bans another port than sshd's", P, sshdJail((c) => c.replace("port = 22", "port = 2222")), /port = 2222 .* bans other ports than sshd's port 22/],
    ["SSH-4", "pass: a later .conf file cannot undo a .local (read before it)", P, f2b("/etc/fail2ban/jail.d/zz-local.conf", "[sshd]\nenabled = false\nbantime = 60\n"), null],
    ["SSH-4", "pass: [DEFAULT] in a later file does not override the jail's own value", P, f2b("/etc/fail2ban/jail.d/zz-local.local", "[DEFAULT]\nbantime = 60\nmaxretry = 50\n"), null],
    ["SSH-4", "pass: a permanent ban (-1) and times with units", P, sshdJail((c) => c.replace("bantime = 3600", "bantime = -1").replace("findtime = 600", "findtime = 1h")), null],
    ["SSH-4", "pass: enabled = yes and an all-ports ban action", P, sshdJail((c) => c.replace("enabled = true", "enabled = yes").replace("port = 22", "port = 2222\nbanaction = iptables-allports")), null],
    ["LOG-2", "a later .local file disables the app jail", P, f2b("/etc/fail2ban/jail.d/zz-local.local", "[webapp]\nenabled = false\n"), /jail \[webapp\] has enabled = false \(\/etc\/fail2ban\/jail\.d\/zz-local\.local\)/],
    ["LOG-2", "the app jail bans the SSH port instead of the web ports", P, f2b("/etc/fail2ban/jail.d/zz-local.local", "[webapp]\nport = ssh\n"), /port = ssh .* bans other ports than nginx's 443/],
    ["LOG-2", "maxretry from jail.local's [DEFAULT] once the jail drops its own", P, (r) => { editFile(r, "host-0-fail2ban", "/etc/fail2ban/jail.d/webapp.local", (c) => c.replace("maxretry = 5\n", "")); f2b("/etc/fail2ban/jail.local", "[DEFAULT]\nmaxretry = 10\n")(r); }, /maxretry = 10 \(\/etc\/fail2ban\/jail\.local\)/],
    ["LOG-2", "pass: the app filter named with options", P, (r) => editFile(r, "host-0-fail2ban", "/etc/fail2ban/jail.d/webapp.local", (c) => c.replace("filter = webapp", "filter = webapp[mode=normal]")), null],
    // HOST-1: APT's configuration as apt-config reads it.
    ["HOST-1", "a later apt.conf.d file switches upgrades off", P, apt("99-local", 'APT::Periodic::Unattended-Upgrade "0";\n'), /99-local \(host-0-upgrades\) sets APT::Periodic::Unattended-Upgrade "0", the value apt-config ends up with/],
    ["HOST-1", "the nested syntax in a later file", P, apt("99-local", 'APT {\n  Periodic {\n    Update-Package-Lists "0";\n  };\n};\n'), /sets APT::Periodic::Update-Package-Lists "0"/],
    ["HOST-1", "APT::Periodic::Enable 0 stops every periodic job", P, apt("10periodic", 'APT::Periodic::Enable "0";\n'), /sets APT::Periodic::Enable "0", which stops every periodic APT job/],
    ["HOST-1", "#clear drops the setting", P, apt("99-local", "#clear APT::Periodic::Unattended-Upgrade;\n"), /no apt\.conf\.d file that APT reads sets APT::Periodic::Unattended-Upgrade/],
    ["HOST-1", "keys are case-insensitive", P, apt("99-local", 'apt::periodic::unattended-upgrade "0";\n'), /sets APT::Periodic::Unattended-Upgrade "0"/],
    ["HOST-1", "pass: an earlier file's 0 that 20auto-upgrades overrides", P, apt("10-local", 'APT::Periodic::Unattended-Upgrade "0";\n'), null],
    ["HOST-1", "pass: a file APT ignores (.bak)", P, apt("99-local.bak", 'APT::Periodic::Unattended-Upgrade "0";\n'), null],
    ["HOST-1", "pass: always as the interval", P, apt("99-local", 'APT::Periodic::Update-Package-Lists "always";\n'), null],
    // HOST-2: the value systemd-sysctl leaves, file names in lexical order.
    ["HOST-2", "a later sysctl.d file turns redirects back on", P, sysctl("/etc/sysctl.d/zz-local.conf", "net.ipv4.conf.all.accept_redirects = 1\n"), /net\.ipv4\.conf\.all\.accept_redirects ends up 1 \(set last by \/etc\/sysctl\.d\/zz-local\.conf\)/],
    ["HOST-2", "pass: /etc/sysctl.conf (read as 99-sysctl.conf, before the hardening file)", P, sysctl("/etc/sysctl.conf", "net.ipv4.tcp_syncookies=0\n"), null],
    ["HOST-2", "a key spelled with slashes", P, sysctl("/etc/sysctl.d/zz-local.conf", "net/ipv4/conf/all/send_redirects = 1\n"), /net\.ipv4\.conf\.all\.send_redirects ends up 1/],
    ["HOST-2", "a glob where the hardening file no longer names the key", P, (r) => { editFile(r, "host-0-sysctl", "/etc/sysctl.d/99-zz-hardening.conf", (c) => c.replace("net.ipv4.conf.all.rp_filter = 1\n", "")); sysctl("/etc/sysctl.d/99-local.conf", "net.ipv4.conf.*.rp_filter = 0\n")(r); }, /net\.ipv4\.conf\.all\.rp_filter ends up 0 \(set last by \/etc\/sysctl\.d\/99-local\.conf\)/],
    ["HOST-2", "pass: a later glob does not override an explicit key", P, sysctl("/etc/sysctl.d/99-local.conf", "-net.ipv4.conf.*.rp_filter = 0\n"), null],
    ["HOST-2", "a file in /usr/lib/sysctl.d named after the hardening file", P, sysctl("/usr/lib/sysctl.d/99-zzz-vendor.conf", "net.ipv4.conf.all.accept_source_route = 1\n"), /accept_source_route ends up 1 \(set last by \/usr\/lib\/sysctl\.d\/99-zzz-vendor\.conf\)/],
    ["HOST-2", "pass: an earlier file's value that the hardening file overrides", P, sysctl("/etc/sysctl.d/10-local.conf", "net.ipv4.conf.all.accept_redirects = 1\n"), null],
    ["HOST-2", "pass: /usr/lib's file of the same name is hidden by /etc's", P, sysctl("/usr/lib/sysctl.d/99-zz-hardening.conf", "net.ipv4.tcp_syncookies = 0\n"), null],
    // SVC-1..3: the unit with its drop-ins, in systemd's spellings.
    ["SVC-1", "a drop-in resets User= (root)", P, dropIn("[Service]\nUser=\n"), /it runs as root \(no User=, or User= reset by a drop-in\)/],
    ["SVC-1", "a drop-in sets User=0", P, dropIn("[Service]\nUser=0\n"), /it runs as 0/],
    ["SVC-1", "pass: DynamicUser=yes instead of a named user", P, (r) => { editFile(r, "service-0-service", UNIT, (c) => c.replace("User=webapp\n", "DynamicUser=yes\n")); }, null],
    ["SVC-2", "a drop-in resets ProtectSystem= to its default", P, dropIn("[Service]\nProtectSystem=\n"), /ProtectSystem is reset to its default, needs strict/],
    ["SVC-2", "ProtectSystem=true is only /usr and /boot", P, dropIn("[Service]\nProtectSystem=true\n"), /ProtectSystem is true, needs strict/],
    ["SVC-2", "ReadWritePaths=/ undoes ProtectSystem=strict", P, dropIn("[Service]\nReadWritePaths=-/\n"), /ReadWritePaths=\/ makes a system path writable/],
    ["SVC-2", "ReadWritePaths=/etc/ in the unit", P, service("ReadWritePaths=/etc/"), /ReadWritePaths=\/etc makes a system path writable/],
    ["SVC-2", "a capability added back by a drop-in", P, dropIn("[Service]\nCapabilityBoundingSet=CAP_NET_ADMIN\n"), /CapabilityBoundingSet is CAP_NET_ADMIN, needs \(empty\)/],
    ["SVC-2", "NoNewPrivileges=off", P, dropIn("[Service]\nNoNewPrivileges=off\n"), /NoNewPrivileges is off, needs yes/],
    ["SVC-2", "pass: systemd's other true spellings (1, on, true)", P, dropIn("[Service]\nNoNewPrivileges=1\nPrivateTmp=on\nPrivateDevices=true\nProtectHome=read-only\n"), null],
    ["SVC-3", "RestartSec in milliseconds", P, dropIn("[Service]\nRestartSec=500ms\n"), /RestartSec is 500ms, under a second/],
    ["SVC-3", "RestartSec reset to systemd's 100 ms", P, dropIn("[Service]\nRestartSec=\n"), /RestartSec is 100ms \(unset: systemd's default\)/],
    ["SVC-3", "Restart=no in a drop-in", P, dropIn("[Service]\nRestart=no\n"), /Restart is no; set Restart=on-failure/],
    ["SVC-3", "pass: RestartSec in minutes and seconds", P, dropIn("[Service]\nRestartSec=1min 30s\n"), null],
    // NET-3: ufw stays on with default deny, and a cloud firewall applies to every server however it is attached.
    ["NET-3", "a step disables ufw", P, (r) => editScript(r, "host-0-sysctl", (s) => `${s}\nufw disable\n`), /host-0-sysctl runs "ufw disable" and does not enable ufw again/],
    ["NET-3", "a step resets ufw and leaves it so", P, (r) => editScript(r, "host-0-sysctl", (s) => `${s}\nufw --force reset >/dev/null\n`), /runs "ufw --force reset >\/dev\/null" and does not enable ufw again/],
    ["NET-3", "ufw.conf with ENABLED=no", P, (r) => addFile(r, "host-0-firewall", "/etc/ufw/ufw.conf", "ENABLED=no\nLOGLEVEL=low\n"), /ufw\.conf .* sets ENABLED=no/],
    ["NET-3", "/etc/default/ufw with an ACCEPT input policy", P, (r) => addFile(r, "host-0-firewall", "/etc/default/ufw", 'IPV6=yes\nDEFAULT_INPUT_POLICY="ACCEPT"\n'), /DEFAULT_INPUT_POLICY="ACCEPT"/],
    ["NET-3", "/etc/default/ufw with IPV6=no", P, (r) => addFile(r, "host-0-firewall", "/etc/default/ufw", 'IPV6=no\nDEFAULT_INPUT_POLICY="DROP"\n'), /sets IPV6=no, so ufw leaves IPv6 traffic unfiltered/],
    ["NET-3", "hcloud: a FirewallAttachment whose selector misses the server", P, (r) => { unset(r, "web-server-0", "firewallIds"); addResource(r, "hcloud:index/firewallAttachment:FirewallAttachment", "fw-db", { firewallId: 1, labelSelectors: ["role=db"] }); }, /server web-server-0 has no cloud firewall attached/],
    ["NET-3", "pass: hcloud: a FirewallAttachment selecting the server's labels", P, (r) => { unset(r, "web-server-0", "firewallIds"); addResource(r, "hcloud:index/firewallAttachment:FirewallAttachment", "fw-app", { firewallId: 1, labelSelectors: ["role=app"] }); }, null],
    ["NET-3", "pass: hcloud: the firewall's applyTos selecting the server", P, (r) => { unset(r, "web-server-0", "firewallIds"); (res(r, "web-firewall").inputs as Record<string, unknown>).applyTos = [{ labelSelector: "role=app" }]; res(r, "web-firewall").outputs.applyTos = [{ labelSelector: "role=app" }]; }, null],
    ["NET-3", "pass: the firewall step's own reset before it enables ufw", P, (r) => editScript(r, "host-0-sysctl", (s) => `${s}\nufw --force reset\nufw default deny incoming\nufw --force enable\n`), null],
    // BK-1: calendar expressions in every spelling systemd reads the same way.
    ["BK-1", "Persistent=no", P, timer("daily", (c) => c.replace("Persistent=true", "Persistent=no")), /webapp-backup-daily\.timer is not Persistent=true/],
    ["BK-1", "the daily backup every hour", P, timer("daily", (c) => c.replace("OnCalendar=*-*-* 02:00:00", "OnCalendar=hourly")), /no daily backup timer at a fixed hour/],
    ["BK-1", "the weekly backup on every day", P, timer("weekly", (c) => c.replace(/OnCalendar=.*/, "OnCalendar=*-*-* 03:00")), /no weekly backup timer/],
    ["BK-1", "pass: the short forms 02:00 and Sun 03:00", P, (r) => { timer("daily", (c) => c.replace("OnCalendar=*-*-* 02:00:00", "OnCalendar=2:00"))(r); timer("weekly", (c) => c.replace(/OnCalendar=.*/, "OnCalendar=sunday 03:00"))(r); }, null],
    ["BK-1", "pass: the shorthands daily and weekly, and Persistent=yes", P, (r) => { timer("daily", (c) => c.replace("OnCalendar=*-*-* 02:00:00", "OnCalendar=daily").replace("Persistent=true", "Persistent=yes"))(r); timer("weekly", (c) => c.replace(/OnCalendar=.*/, "OnCalendar=weekly"))(r); }, null],
    // DB-1: the listen address PostgreSQL ends up with.
    ["DB-1", "a later conf.d file listens everywhere", P, pgFile("/etc/postgresql/15/main/conf.d/99-local.conf", "listen_addresses = '*'\n"), /99-local\.conf .* sets listen_addresses = \*, the value PostgreSQL ends up with/],
    ["DB-1", "ALTER SYSTEM listens on a public address", P, pgFile("/var/lib/postgresql/15/main/postgresql.auto.conf", "listen_addresses = '203.0.113.7'\n"), /postgresql\.auto\.conf .* listen_addresses = 203\.0\.113\.7/],
    ["DB-1", "an RDS instance left publicly accessible", R, (r) => { res(r, "database-instance").inputs.publiclyAccessible = true; res(r, "database-instance").outputs.publiclyAccessible = true; }, /database-instance is publicly accessible/],
    ["DB-1", "pass: an earlier file listening everywhere that conf.d overrides", P, pgFile("/etc/postgresql/15/main/postgresql.conf", "listen_addresses = '*'\ninclude_dir = 'conf.d'\n"), null],
    // SEC-1: the alphabet a generated secret really draws from.
    ["SEC-1", "special characters on, but an empty overrideSpecial", P, (r) => { res(r, "app-db-password").inputs.overrideSpecial = ""; res(r, "app-db-password").outputs.overrideSpecial = ""; }, /app-db-password: overrideSpecial is empty, so special characters are off/],
    ["SEC-1", "upper case off", P, (r) => { res(r, "app-app-secret-key").inputs.upper = false; res(r, "app-app-secret-key").outputs.upper = false; }, /upper characters are off/],
    ["SEC-1", "pass: a shorter list of specials", P, (r) => { res(r, "app-db-password").inputs.overrideSpecial = "-_."; res(r, "app-db-password").outputs.overrideSpecial = "-_."; }, null],
    // DB-3: the attributes, memberships and grants the role SQL leaves, in any case and order.
    ["DB-3", "a later ALTER ROLE gives SUPERUSER back", P, roleSql("ALTER ROLE webapp SUPERUSER;"), /role webapp ends up with SUPERUSER/],
    ["DB-3", "lower-case ALTER USER", P, roleSql("alter user webapp createrole;"), /role webapp ends up with CREATEROLE/],
    ["DB-3", "membership of postgres (SET ROLE)", P, roleSql("GRANT postgres TO webapp;"), /postgres is granted to webapp, which gives superuser rights through SET ROLE/],
    ["DB-3", "membership of pg_execute_server_program", P, roleSql("grant pg_execute_server_program to webapp;"), /pg_execute_server_program is granted to webapp/],
    ["DB-3", "CONNECT granted to PUBLIC again (lower case)", P, roleSql("grant connect on database webapp to public;"), /something is granted to PUBLIC/],
    ["DB-3", "pass: commented-out statements", P, roleSql("-- ALTER ROLE webapp SUPERUSER;\n/* GRANT postgres TO webapp; */"), null],
    ["DB-3", "pass: SUPERUSER taken back by a later statement", P, roleSql("ALTER ROLE webapp SUPERUSER;\nALTER ROLE webapp NOSUPERUSER;"), null],
    // LOG-1: logrotate's directives, the last of conflicting ones winning.
    ["LOG-1", "weekly after daily", P, logrotate((c) => c.replace("    daily\n    rotate 30\n", "    daily\n    rotate 30\n    weekly\n")), /for \/var\/log\/webapp\/app\.log \/var\/log\/webapp\/access\.log: rotates by "weekly", not daily/],
    ["LOG-1", "rotation by size instead of time", P, logrotate((c) => c.replace("    daily\n    rotate 90\n", "    daily\n    rotate 90\n    size 100M\n")), /for \/var\/log\/webapp\/error\.log: rotates by "size 100M", not daily/],
    ["LOG-1", "maxage shorter than the retention", P, logrotate((c) => c.replace("maxage 90", "maxage 14")), /maxage 14 deletes logs younger than 90 days/],
    ["LOG-1", "nocompress after compress", P, logrotate((c) => c.replace("    delaycompress\n", "    delaycompress\n    nocompress\n")), /not compressed/],
    ["LOG-1", "copytruncate instead of create", P, logrotate((c) => c.replace("    create 0640 webapp webapp\n    su webapp webapp\n    sharedscripts\n    postrotate\n        systemctl kill --signal=USR1 --kill-whom=main webapp.service >/dev/null 2>&1 || true\n    endscript\n}\n/var/log/webapp/error.log", "    create 0640 webapp webapp\n    copytruncate\n}\n/var/log/webapp/error.log")), /"copytruncate" instead of create 0640/],
    ["LOG-1", "pass: a word inside the postrotate script is not a directive", P, logrotate((c) => c.replace("        systemctl kill --signal=USR1", "        echo weekly >/dev/null\n        systemctl kill --signal=USR1")), null],
    ["LOG-1", "pass: weekly before daily", P, logrotate((c) => c.replace("    daily\n    rotate 30\n", "    weekly\n    daily\n    rotate 30\n")), null],
    // MON-1 and SVC-6: how often the timers really fire.
    ["MON-1", "the alert timer every five minutes", P, (r) => editFile(r, "host-0-monitoring", "/etc/systemd/system/webapp-resource-alerts.timer", (c) => c.replace("OnUnitActiveSec=1min", "OnUnitActiveSec=5min")), /the timer does not run every minute/],
    ["MON-1", "pass: OnCalendar=minutely", P, (r) => editFile(r, "host-0-monitoring", "/etc/systemd/system/webapp-resource-alerts.timer", (c) => c.replace("OnUnitActiveSec=1min", "OnCalendar=minutely")), null],
    ["MON-1", "pass: OnUnitActiveSec in seconds (60)", P, (r) => editFile(r, "host-0-monitoring", "/etc/systemd/system/webapp-resource-alerts.timer", (c) => c.replace("OnUnitActiveSec=1min", "OnUnitActiveSec=60")), null],
    ["SVC-6", "a health check timer that never repeats", P, (r) => editFile(r, "service-0-service", "/etc/systemd/system/webapp-healthcheck.timer", (c) => c.replace("OnUnitActiveSec=60s\n", "")), /no health check timer is shipped/],
    ["SVC-6", "pass: the health check on a calendar", P, (r) => editFile(r, "service-0-service", "/etc/systemd/system/webapp-healthcheck.timer", (c) => c.replace("OnUnitActiveSec=60s", "OnCalendar=*:*:00")), null],
    // HOST-3: cloud-init's user spellings and defaults.
    ["HOST-3", "ssh_pwauth turns password logins on", P, userData((d) => d.replace("ssh_pwauth: false", "ssh_pwauth: true")), /sets ssh_pwauth, which turns SSH password logins on/],
    ["HOST-3", "root's password unlocked", P, userData((d) => d.replace("users:\n", "users:\n  - name: root\n    lock_passwd: false\n")), /unlocks root's password/],
    ["HOST-3", "the admin neither in sudo nor with a sudo rule", P, userData((d) => d.replace(/ {4}groups:\n {6}- sudo\n/, "    groups: adm\n").replace(/ {4}sudo: .*\n/, "")), /creates no non-root admin user in the sudo group/],
    ["HOST-3", "pass: groups as a comma-separated string", P, userData((d) => d.replace(/ {4}groups:\n {6}- sudo\n/, "    groups: adm, sudo\n")), null],
    ["HOST-3", "pass: lock_passwd left to cloud-init's default (true)", P, userData((d) => d.replace(/ {4}lock_passwd: true\n/, "")), null],
    // PROT-3: what keeps a user data change from reaching the server.
    ["PROT-3", "ignoreChanges for another property only", P, (r) => (res(r, "web-server-0").ignoreChanges = ["sshKeys"]), /would be replaced or restarted by a user data change; add ignoreChanges: \["userData"\]/],
    ["PROT-3", "aws: userDataBase64 changes are not ignored", R, (r) => { const s = r.resources.find((x) => x.type === "aws:ec2/instance:Instance")!; s.inputs.userDataBase64 = Buffer.from(String(s.inputs.userData)).toString("base64"); delete s.inputs.userData; s.outputs.userDataBase64 = s.inputs.userDataBase64; delete s.outputs.userData; }, /add ignoreChanges: \["userDataBase64"\]/],
    ["PROT-3", "pass: ignoreChanges: [\"*\"]", P, (r) => (res(r, "web-server-0").ignoreChanges = ["*"]), null],
    // NET-5: where node exporter ends up listening.
    ["NET-5", "node exporter installed with its defaults (every address)", P, exporter(), /its default settings .* listen on :9100 \(every address\)/],
    ["NET-5", "ARGS in /etc/default listening everywhere", P, exporter("/etc/default/prometheus-node-exporter", 'ARGS="--web.listen-address=:9100 --collector.systemd"\n'), /\/etc\/default\/prometheus-node-exporter .* listen on :9100/],
    ["NET-5", "a drop-in's ExecStart on 0.0.0.0", P, exporter("/etc/systemd/system/prometheus-node-exporter.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/prometheus-node-exporter --web.listen-address 0.0.0.0:9100\n"), /override\.conf .* listen on 0\.0\.0\.0:9100/],
    ["NET-5", "a drop-in that resets ExecStart without the flag", P, exporter("/etc/systemd/system/prometheus-node-exporter.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/prometheus-node-exporter\n"), /listen on :9100 \(every address\)/],
    ["NET-5", "pass: ARGS on loopback", P, exporter("/etc/default/prometheus-node-exporter", "ARGS='--web.listen-address=127.0.0.1:9100'\n"), null],
    ["NET-5", "pass: a drop-in on loopback over ARGS that listen everywhere", P, (r) => { exporter("/etc/default/prometheus-node-exporter", 'ARGS="--web.listen-address=:9100"\n')(r); addFile(r, "host-0-monitoring", "/etc/systemd/system/prometheus-node-exporter.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=127.0.0.1:9100\n"); }, null],
    // BK-3 and BK-4: the shell options and the dump's compression as bash and pg_dump take them.
    ["BK-3", "set +e after the strict line", P, backupScript((c) => c.replace("set -euo pipefail\n", "set -euo pipefail\nset +e\n")), /errexit off at the end of the script/],
    ["BK-3", "set +o pipefail", P, backupScript((c) => c.replace("set -euo pipefail\n", "set -euo pipefail\nset +o pipefail\n")), /pipefail off at the end of the script/],
    ["BK-3", "only set -e", P, backupScript((c) => c.replace("set -euo pipefail\n", "set -e\n")), /nounset, pipefail off/],
    ["BK-3", "pass: the options spelled out (set -e -u -o pipefail)", P, backupScript((c) => c.replace("set -euo pipefail\n", "set -e -u -o pipefail\n")), null],
    ["BK-3", "pass: long names (set -o errexit -o nounset -o pipefail)", P, backupScript((c) => c.replace("set -euo pipefail\n", "set -o errexit -o nounset -o pipefail\n")), null],
    ["BK-4", "-Z0 (no compression)", P, backupScript((c) => c.replace("--compress=6", "-Z0")), /the backup is not compressed \(pg_dump --format=custom -Z0/],
    ["BK-4", "--compress=none", P, backupScript((c) => c.replace("--compress=6", "--compress=none")), /not compressed/],
    ["BK-4", "the plain format without a compressor", P, backupScript((c) => c.replace("--format=custom --compress=6", "--format=plain")), /not compressed/],
    ["BK-4", "pass: -Z 9 in the short form", P, backupScript((c) => c.replace("--compress=6", "-Z 9")), null],
    ["BK-4", "pass: the custom format's default compression", P, backupScript((c) => c.replace(" --compress=6", "")), null],
    // BK-5, BK-7, BK-8: the off-site copy in its other forms, timers by their implicit unit, the stale limit in arithmetic.
    ["BK-5", "the copy removed from the backup script", P, backupScript((c) => c.replace(/ s3 cp /g, " s3 ls ")), /keeps backups on the server only/],
    ["BK-5", "pass: the copy through s3api put-object", P, backupScript((c) => c.replace(/ s3 cp --only-show-errors --sse AES256 "([^"]+)" "([^"]+)"/g, ' s3api put-object --server-side-encryption AES256 --body "$1" --bucket webapp --key "$2"')), null],
    ["BK-7", "the drill timer activating another unit", P, (r) => editFile(r, "backups-timers", "/etc/systemd/system/webapp-restore-drill.timer", (c) => c.replace(/^Unit=.*$/m, "Unit=webapp-backup-stale-check.service")), /no scheduled restore drill \(timer missing\)/],
    ["BK-7", "pass: the drill timer without Unit= (its own service by name)", P, (r) => editFile(r, "backups-timers", "/etc/systemd/system/webapp-restore-drill.timer", (c) => c.replace(/^Unit=.*\n/m, "")), null],
    ["BK-8", "a stale limit of two days in shell arithmetic", P, (r) => editFile(r, "backups-timers", "/usr/local/lib/webapp/backup-stale-check", (c) => c.replace("-gt 93600 ]", "-gt $((48 * 3600)) ]")), /accepts backups 48 hours old/],
    ["BK-8", "pass: 26 hours in shell arithmetic", P, (r) => editFile(r, "backups-timers", "/usr/local/lib/webapp/backup-stale-check", (c) => c.replace("-gt 93600 ]", "-gt $((26 * 3600)) ]")), null],
    ["BK-8", "pass: -ge one second later", P, (r) => editFile(r, "backups-timers", "/usr/local/lib/webapp/backup-stale-check", (c) => c.replace("-gt 93600 ]", "-ge 93601 ]")), null],
    // MON-2: every resource that opens a metrics port.
    ["MON-2", "aws: a SecurityGroupRule opening the postgres exporter", R, (r) => addResource(r, "aws:ec2/securityGroupRule:SecurityGroupRule", "pg-exporter", { type: "ingress", protocol: "tcp", fromPort: 9187, toPort: 9187, cidrBlocks: ["0.0.0.0/0"], securityGroupId: "sg-1" }), /pg-exporter opens port 9187 to the internet, exposing metrics/],
    ["MON-2", "hcloud: a range covering 9090", P, hcloudRule({ protocol: "tcp", port: "9000-9200", sourceIps: ["::/0"] }), /opens ports 9000-9200 to the internet, exposing metrics/],
    ["MON-2", "pass: node exporter from a private network only", P, hcloudRule({ protocol: "tcp", port: "9100", sourceIps: ["10.0.0.0/16"] }), null],
    // PROT-1 and PROT-2: every stateful resource, however it is added.
    ["PROT-1", "an EBS volume without protect", R, (r) => addResource(r, "aws:ebs/volume:Volume", "extra-data", { availabilityZone: "eu-central-1a", size: 10, encrypted: true }), /extra-data \(aws:ebs\/volume:Volume\): not protected in Pulumi/],
    ["PROT-1", "an S3 bucket that may be destroyed with its objects", R, (r) => { const b = r.resources.find((x) => x.type === "aws:s3/bucket:Bucket")!; b.inputs.forceDestroy = true; b.outputs.forceDestroy = true; }, /forceDestroy is true, needs false/],
    ["PROT-1", "pass: a protected EBS volume", R, (r) => { addResource(r, "aws:ebs/volume:Volume", "extra-data", { availabilityZone: "eu-central-1a", size: 10, encrypted: true }); res(r, "extra-data").protect = true; }, null],
    ["PROT-2", "a second server without backups", P, (r) => { const s = structuredClone(res(r, "web-server-0")); s.name = "web-server-9"; s.urn = s.urn.replace("web-server-0", "web-server-9"); s.inputs.backups = false; s.outputs.backups = false; r.resources.push(s); }, /web-server-9 has provider backups off/],
    ["PROT-2", "pass: staging may leave backups off", S, (r) => { res(r, "web-server-0").inputs.backups = false; res(r, "web-server-0").outputs.backups = false; }, null],
    // SEC-2 and SEC-4: literals in their other spellings, and rotation.
    ["SEC-2", "a private key base64-encoded in cloud-init's write_files", P, userData((d) => d.replace("write_files:\n", `write_files:\n  - path: /root/.ssh/id_ed25519\n    encoding: b64\n    content: ${Buffer.from("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n").toString("base64")}\n`)), /carries a private key \(base64-encoded\) in userData/],
    ["SEC-2", "an AWS secret key as an environment assignment", P, userData((d) => `${d}# AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYab\n`), /carries a password assignment in userData/],
    ["SEC-2", "a password under a prefixed key (db_password:)", P, userData((d) => `${d}# db_password: hunter2hunter2\n`), /carries a password assignment in userData/],
    ["SEC-2", "pass: a reference to a secret, not a value", P, userData((d) => `${d}# DB_PASSWORD=$DB_PASSWORD_FROM_CREDENTIALS\n`), null],
    ["SEC-4", "a generated secret without keepers", P, (r) => { delete res(r, "app-db-password").inputs.keepers; delete res(r, "app-db-password").outputs.keepers; }, /app-db-password never rotates \(no generation keeper\)/],
    ["SEC-4", "pass: keepers with the generation and more", P, (r) => { const k = { ...(res(r, "app-db-password").inputs.keepers as Record<string, string>), purpose: "db" }; res(r, "app-db-password").inputs.keepers = k; res(r, "app-db-password").outputs.keepers = k; }, null],
    // SSH-5 and SSH-6: the host keys sshd offers and its session settings, as sshd reads them.
    ["SSH-5", "no HostKey named (sshd loads Debian's ECDSA key too)", P, sshdEdit((c) => c.replace(/^HostKey .*\n/gm, "")), /offers the host key \/etc\/ssh\/ssh_host_ecdsa_key \(no HostKey named/],
    ["SSH-5", "HostKeyAlgorithms adding ECDSA to an ECDSA key", P, sshdEdit((c) => c.replace("HostKey /etc/ssh/ssh_host_rsa_key\n", "HostKey /etc/ssh/ssh_host_rsa_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\nHostKeyAlgorithms +ecdsa-sha2-nistp256\n")), /offers the host key \/etc\/ssh\/ssh_host_ecdsa_key/],
    ["SSH-5", "KexAlgorithms unset (OpenSSH's default has group14)", P, sshdEdit((c) => c.replace(/^KexAlgorithms .*\n/m, "")), /allows a 2048-bit Diffie-Hellman group/],
    ["SSH-5", "group exchange without the moduli filter", P, (r) => { sshdEdit((c) => c.replace(/^KexAlgorithms (.*)$/m, "KexAlgorithms $1,diffie-hellman-group-exchange-sha256"))(r); editScript(r, "host-0-ssh", (s) => s.replace(/^.*\/etc\/ssh\/moduli.*$/m, "true")); }, /allows group exchange, and no step drops the moduli under 3072 bits/],
    ["SSH-5", "a 2048-bit RSA key generated", P, (r) => editScript(r, "host-0-ssh", (s) => `${s}\nssh-keygen -q -t rsa -b 2048 -N '' -f /etc/ssh/ssh_host_rsa_key\n`), /generates an RSA host key of 2048 bits/],
    ["SSH-5", "pass: HostKeyAlgorithms that leaves ECDSA keys unused", P, sshdEdit((c) => c.replace("HostKey /etc/ssh/ssh_host_rsa_key\n", "HostKey /etc/ssh/ssh_host_rsa_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\nHostKeyAlgorithms -ecdsa-*\n")), null],
    ["SSH-5", "pass: group exchange with the moduli filtered", P, sshdEdit((c) => c.replace(/^KexAlgorithms (.*)$/m, "KexAlgorithms $1,diffie-hellman-group-exchange-sha256")), null],
    ["SSH-6", "compression left to OpenSSH's default", P, sshdEdit((c) => c.replace("Compression no\n", "")), /Compression is yes \(unset: sshd's default\), not no/],
    ["SSH-6", "an earlier drop-in with MaxSessions 10", P, sshdDropIn("00-sessions.conf", "MaxSessions 10\n"), /00-sessions\.conf: MaxSessions is 10, not <= 4/],
    ["SSH-6", "a Match block with more sessions", P, sshdEdit((c) => `${c}Match User deploy\n    MaxSessions 20\n`), /Match User deploy .*MaxSessions is 20/],
    ["SSH-6", "pass: a later drop-in cannot turn compression back on", P, sshdDropIn("99-local.conf", "Compression yes\n"), null],
    // HOST-6: the security suite in the sources, in both formats, and the origin unattended-upgrades takes.
    ["HOST-6", "the security stanza disabled (Enabled: no)", P, secSources((c) => `${c.trimEnd()}\nEnabled: no\n`), /an enabled APT source for Debian's security suite/],
    ["HOST-6", "only source packages (Types: deb-src)", P, secSources((c) => c.replace("Types: deb", "Types: deb-src")), /an enabled APT source for Debian's security suite/],
    ["HOST-6", "#clear of the origins", P, apt("99-local", "#clear Unattended-Upgrade::Origins-Pattern;\n"), /unattended-upgrades takes from no security origin \(no Origins-Pattern left\)/],
    ["HOST-6", "pass: the one-line format in sources.list", P, (r) => { dropFile(r, "host-0-upgrades", "/etc/apt/sources.list.d/debian-security.sources"); addFile(r, "host-0-upgrades", "/etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\ndeb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main\n"); }, null],
    ["HOST-6", "one-line format, commented out", P, (r) => { dropFile(r, "host-0-upgrades", "/etc/apt/sources.list.d/debian-security.sources"); addFile(r, "host-0-upgrades", "/etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\n# deb http://deb.debian.org/debian-security bookworm-security main\n"); }, /an enabled APT source for Debian's security suite/],
    ["HOST-6", "pass: the older Allowed-Origins syntax", P, apt("99-local", '#clear Unattended-Upgrade::Origins-Pattern;\nUnattended-Upgrade::Allowed-Origins {\n    "${distro_id}:${distro_codename}-security";\n};\n'), null],
    // HOST-7: kernel self-protection as systemd-sysctl leaves it.
    ["HOST-7", "a later file lets everyone use SysRq", P, sysctl("/etc/sysctl.d/zz-local.conf", "kernel.sysrq = 1\n"), /kernel\.sysrq ends up 1 \(set last by \/etc\/sysctl\.d\/zz-local\.conf\)/],
    ["HOST-7", "the hardening file renamed to sort before Debian's protect-links (FIFOs back to 1)", P, (r) => { const c = "fs.protected_fifos = 2\n"; sysctl("/etc/sysctl.d/60-fifos.conf", c)(r); editFile(r, "host-0-sysctl", "/etc/sysctl.d/99-zz-hardening.conf", (x) => x.replace("fs.protected_fifos = 2\n", "")); }, /fs\.protected_fifos ends up 1 \(set last by \/usr\/lib\/sysctl\.d\/99-protect-links\.conf\)/],
    ["HOST-7", "protected FIFOs only for world-writable directories (1)", P, sysctl("/etc/sysctl.d/zz-local.conf", "fs/protected_fifos = 1\n"), /fs\.protected_fifos ends up 1/],
    ["HOST-7", "pass: ptrace_scope 3 (stricter)", P, sysctl("/etc/sysctl.d/99-local.conf", "kernel.yama.ptrace_scope = 3\n"), null],
    // HOST-8: core dumps, wherever a limit is set.
    ["HOST-8", "a later limits.d file for root", P, (r) => addFile(r, "host-0-baseline", "/etc/security/limits.d/99-debug.conf", "root hard core unlimited\n"), /99-debug\.conf .* lets root dump core \(hard core unlimited\)/],
    ["HOST-8", "the app unit raises LimitCORE", P, dropIn("[Service]\nLimitCORE=infinity\n"), /sets LimitCORE=infinity, so the app may dump core/],
    ["HOST-8", "systemd-coredump storing dumps again", P, (r) => addFile(r, "host-0-baseline", "/etc/systemd/coredump.conf.d/99-local.conf", "[Coredump]\nStorage=external\n"), /sets Storage=external; use none/],
    ["HOST-8", "DefaultLimitCORE raised by a later drop-in", P, (r) => addFile(r, "host-0-baseline", "/etc/systemd/system.conf.d/99-local.conf", "[Manager]\nDefaultLimitCORE=infinity\n"), /sets DefaultLimitCORE=infinity; use 0/],
    ["HOST-8", "pass: the - type (soft and hard) with 0", P, (r) => editFile(r, "host-0-baseline", "/etc/security/limits.d/10-no-core-dumps.conf", (c) => c.replace("*    hard    core    0", "*    -    core    0")), null],
    // HOST-9: modules blocked, not only blacklisted.
    ["HOST-9", "a blacklist alone (an explicit modprobe still loads it)", P, (r) => editFile(r, "host-0-baseline", "/etc/modprobe.d/10-hardening.conf", (c) => c.replace("install dccp /bin/false\n", "")), /dccp can still be loaded/],
    ["HOST-9", "a second install line that loads the module", P, (r) => addFile(r, "host-0-baseline", "/etc/modprobe.d/99-local.conf", "install sctp /sbin/modprobe --ignore-install sctp\n"), /installs sctp with "\/sbin\/modprobe --ignore-install sctp", which loads it/],
    ["HOST-9", "a step that loads tipc", P, (r) => editScript(r, "host-0-sysctl", (s) => `${s}\nmodprobe tipc\n`), /host-0-sysctl loads tipc/],
    ["HOST-9", "pass: install with /bin/true and a dash in the name", P, (r) => editFile(r, "host-0-baseline", "/etc/modprobe.d/10-hardening.conf", (c) => c.replace("install hfsplus /bin/false", "install hfsplus /bin/true")), null],
    // HOST-10: umask and permissions, the last one set winning.
    ["HOST-10", "a later profile.d file widens the umask", P, (r) => addFile(r, "host-0-baseline", "/etc/profile.d/99-local.sh", "umask 0022\n"), /99-local\.sh .* sets umask 0022 for login shells, the last one read/],
    ["HOST-10", "login.defs UMASK 022 set again later", P, (r) => editScript(r, "host-0-baseline", (s) => `${s}\nlogin_defs UMASK 022\n`), /sets login\.defs UMASK 022/],
    ["HOST-10", "crontab made readable again by a later step", P, (r) => editScript(r, "host-0-audit", (s) => `${s}\nchmod 644 /etc/crontab\n`), /host-0-audit runs chmod 644 \/etc\/crontab, which leaves group or other rights/],
    ["HOST-10", "pass: umask 077 (stricter) and chmod 0700 on cron.d", P, (r) => { editFile(r, "host-0-baseline", "/etc/profile.d/10-umask.sh", (c) => c.replace("umask 027", "umask 077")); editScript(r, "host-0-audit", (s) => `${s}\nchmod 0700 /etc/cron.d\n`); }, null],
    // LOG-3: the rules augenrules compiles, and the log's bound.
    ["LOG-3", "a later rules file deletes the earlier rules (-D)", P, (r) => addFile(r, "host-0-audit", "/etc/audit/rules.d/99-reset.rules", "-D\n-w /etc/hosts -p wa -k hosts\n"), /do not record writes to \/etc\/passwd/],
    ["LOG-3", "identity files watched for reads only", P, (r) => editFile(r, "host-0-audit", "/etc/audit/rules.d/50-hardening.rules", (c) => c.replace("-w /etc/shadow -p wa", "-w /etc/shadow -p r")), /do not record writes to \/etc\/shadow/],
    ["LOG-3", "the log kept without rotation", P, (r) => editFile(r, "host-0-audit", "/etc/audit/auditd.conf", (c) => c.replace("max_log_file_action = ROTATE", "max_log_file_action = KEEP_LOGS")), /max_log_file_action = KEEP_LOGS \(the log grows without bound\)/],
    ["LOG-3", "pass: a path watched through an exit rule with perm=wa", P, (r) => editFile(r, "host-0-audit", "/etc/audit/rules.d/50-hardening.rules", (c) => c.replace("-w /etc/shadow -p wa -k identity", "-a always,exit -F arch=b64 -F path=/etc/shadow -F perm=wa -k identity")), null],
    ["LOG-3", "pass: -e 2 (rules locked) after the rules", P, (r) => addFile(r, "host-0-audit", "/etc/audit/rules.d/99-finalize.rules", "-e 2\n"), null],
    // DB-2 and DB-4: the values PostgreSQL ends up with (the last file read wins, ALTER SYSTEM last of all) and pg_hba's forms.
    ["DB-2", "a later conf.d file turns TLS off", P, pgFile("/etc/postgresql/15/main/conf.d/99-local.conf", "ssl = off\n"), /99-local\.conf .* sets ssl = off, the value PostgreSQL ends up with/],
    ["DB-2", "ALTER SYSTEM (postgresql.auto.conf) turns TLS off", P, pgFile("/var/lib/postgresql/15/main/postgresql.auto.conf", "SSL = 'false'\n"), /postgresql\.auto\.conf .* sets ssl = false/],
    ["DB-2", "a hostnossl rule", P, (r) => editFile(r, "database-postgresql", HBA, (c) => `${c}hostnossl all all 10.0.0.0/8 scram-sha-256\n`), /without TLS \(hostnossl\)/],
    ["DB-2", "a host rule with address and mask in two fields", P, (r) => editFile(r, "database-postgresql", HBA, (c) => `${c}host all all 10.0.0.0 255.0.0.0 scram-sha-256\n`), /from 10\.0\.0\.0 255\.0\.0\.0 in without TLS \(host\)/],
    ["DB-2", "pass: an earlier file's ssl = off that conf.d overrides", P, pgFile("/etc/postgresql/15/main/postgresql.conf", "ssl = off\ninclude_dir = 'conf.d'\n"), null],
    ["DB-2", "pass: ssl = true (a boolean spelling)", P, (r) => editFile(r, "database-postgresql", PG_CONF, (c) => c.replace("ssl = on", "ssl = true")), null],
    ["DB-4", "pass: an earlier file's md5 that conf.d overrides", P, pgFile("/etc/postgresql/15/main/postgresql.conf", "password_encryption = md5\ninclude_dir = 'conf.d'\n"), null],
    ["DB-4", "pass: a trust-free rule with address and mask using scram-sha-256", P, (r) => editFile(r, "database-postgresql", HBA, (c) => `${c}hostssl webapp webapp 10.0.0.0 255.0.0.0 scram-sha-256\n`), null],
    ["DB-4", "a later file sets md5 hashing", P, pgFile("/etc/postgresql/15/main/conf.d/99-legacy.conf", "password_encryption = md5\n"), /99-legacy\.conf .* sets password_encryption = md5/],
    ["DB-4", "a password (cleartext) rule with address and mask", P, (r) => editFile(r, "database-postgresql", HBA, (c) => `${c}hostssl all all 10.0.0.0 255.0.0.0 password\n`), /has a password rule for all@all \(hostssl\)/],
];

describe.each([...new Set(forms.map((f) => f[0]))])("%s", (control) => {
    test.each(forms.filter((f) => f[0] === control).map((f) => [f[1], f] as const))("%s", (_form, [, , base, change, expected]) => {
        const run = clone(base());
        const before = findings(run).filter((f) => f.checklistId === control && f.level === "mandatory");
        expect(before).toEqual([]);
        change(run);
        const found = findings(run).filter((f) => f.checklistId === control && f.level === "mandatory");
        if (expected === null) expect(found).toEqual([]);
        else {
            expect(found.length).toBeGreaterThan(0);
            expect(found.map((f) => f.message).join("\n")).toMatch(expected);
        }
    });
});

test("every checklist control has a violating and a passing form", () => {
    const missing = CHECKLIST_IDS.filter((id) => {
        const mine = forms.filter((f) => f[0] === id);
        return !mine.some((f) => f[4] !== null) || !mine.some((f) => f[4] === null);
    });
    expect(missing).toEqual([]);
});
