/**
 * The policy pack: its shape, the shipped stacks passing it, and for every policy one violating case per rule it
 * checks, each made by breaking one thing in the compliant prod plan.
 */
import * as fs from "fs";
import * as path from "path";
import { renderPayload } from "../lib/render/apply-script";
import type { PlanRun } from "../plan/run";
import { ALL_POLICIES, POLICIES } from "../policies/catalog";
import { CHECKLIST, CHECKLIST_IDS, levelFor } from "../policies/checklist";
import { packConfig } from "../policies/pack-config";
import { forgetTexts } from "../policies/parse";
import { evaluate, Finding } from "../plan/evaluate";
import { runStack } from "./helpers";
import { addFile, clone, dropFile, editFile, editScript, findings, res, shippedRuns } from "./support/policy";

let prod: PlanRun;
let staging: PlanRun;
let rds: PlanRun;
let fleet: PlanRun;
let awsFleet: PlanRun;
beforeAll(async () => {
    ({ prod, staging, rds, fleet, awsFleet } = await shippedRuns());
});

describe("the pack", () => {
    const checklistFile = path.join(__dirname, "..", "docs", "checklist.md");

    test("lists exactly the controls of the checklist (docs/checklist.md)", () => {
        const ids = [...fs.readFileSync(checklistFile, "utf8").matchAll(/^\| ([A-Z]+-\d+) +\|/gm)].map((m) => m[1]);
        expect(ids.length).toBeGreaterThan(40);
        expect(CHECKLIST_IDS).toEqual(ids);
    });

    test("every control is enforced by at least one policy", () => {
        const covered = new Set(POLICIES.map((p) => p.checklistId));
        expect(CHECKLIST_IDS.filter((id) => !covered.has(id))).toEqual([]);
    });

    test("names are unique, kebab-case and carry the control ID; every policy says what it checks and how to fix it", () => {
        const names = ALL_POLICIES.map((p) => p.name);
        expect(new Set(names).size).toBe(names.length);
        for (const p of POLICIES) {
            expect(p.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)+$/);
            expect(p.name.startsWith(`${p.checklistId.toLowerCase()}-`)).toBe(true);
            expect(p.description.startsWith(`${p.checklistId}: `)).toBe(true);
            expect(p.description.length).toBeGreaterThan(30);
            expect(p.remediationSteps?.length).toBeGreaterThan(10);
            expect(["low", "medium", "high", "critical"]).toContain(p.severity);
            expect(p.enforcementLevel).toBe("mandatory");
            expect(p.tags).toContain(p.checklistId);
            expect(p.framework?.specification).toBe(p.checklistId);
            expect(p.configSchema?.properties.environment).toMatchObject({ default: "prod" });
            expect(CHECKLIST[p.checklistId]).toBeDefined();
        }
    });

    test("levels follow CHECKLIST Levels", () => {
        expect(CHECKLIST_IDS.every((id) => levelFor(id, "prod") === "mandatory")).toBe(true);
        expect(CHECKLIST_IDS.filter((id) => levelFor(id, "staging") === "mandatory")).toEqual(CHECKLIST_IDS.filter((id) => /^(NET|SSH|SEC)-|^TLS-[123]$|^DB-1$/.test(id)));
    });

    test("the generated pack config files are up to date (npm run policy-config)", () => {
        for (const stack of ["staging", "prod"]) {
            const file = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policies", "config", `${stack}.json`), "utf8"));
            expect(file).toEqual(JSON.parse(JSON.stringify(packConfig(stack))));
        }
    });

    test("the pack module only assembles (it is the one file that constructs PolicyPack)", () => {
        const files = fs.readdirSync(path.join(__dirname, "..", "policies")).filter((f) => f.endsWith(".ts"));
        const constructing = files.filter((f) => /new PolicyPack\(/.test(fs.readFileSync(path.join(__dirname, "..", "policies", f), "utf8")));
        expect(constructing).toEqual(["index.ts"]);
        expect(fs.existsSync(path.join(__dirname, "..", "policies", "PulumiPolicy.yaml"))).toBe(true);
    });
});

describe("the shipped stacks pass", () => {
    test("prod: no finding at all", () => {
        expect(findings(prod)).toEqual([]);
    });

    test("staging: no mandatory finding; its relaxed retention is reported as advisory", () => {
        const f = findings(staging);
        expect(f.filter((x) => x.level === "mandatory")).toEqual([]);
        expect(f.map((x) => x.checklistId)).toEqual(["BK-2", "BK-2"]);
    });

    test("prod on AWS with RDS: no finding at all (backups, drill and stale check run against the instance)", () => {
        expect(findings(rds)).toEqual([]);
    });

    test("a prod fleet of three behind the load balancer: no finding at all", () => {
        expect(findings(fleet)).toEqual([]);
    });

    test("a prod fleet of three on AWS behind the network load balancer: no finding at all", () => {
        expect(findings(awsFleet)).toEqual([]);
    });

    test("staging may open SSH to the world (NET-1 is about prod there)", async () => {
        const open = await runStack("staging", { "webapp:adminCidrs": '["0.0.0.0/0", "::/0"]' });
        expect(findings(open).filter((f) => f.checklistId === "NET-1")).toEqual([]);
    });
});

type Case = [policy: string, what: string, base: () => PlanRun, mutate: (run: PlanRun) => void, message: RegExp];

const site = "/etc/nginx/sites-enabled/webapp";
const httpConf = "/etc/nginx/conf.d/webapp.conf";
const unit = "/etc/systemd/system/webapp.service";
const sshd = "/etc/ssh/sshd_config.d/10-hardening.conf";
const pgConf = "/etc/postgresql/15/main/conf.d/60-webapp.conf";
const hba = "/etc/postgresql/15/main/pg_hba.conf";
const roleSql = "/etc/webapp/database/role.sql";
const backup = "/usr/local/lib/webapp/backup";
const P = () => prod;
const R = () => rds;
const F = () => fleet;
const rules = (run: PlanRun) => res(run, "web-firewall").inputs.rules as Record<string, unknown>[];
const policyDoc = (run: PlanRun, name: string, edit: (doc: any) => void) => {
    const r = res(run, name);
    const doc = JSON.parse(String(r.inputs.policy));
    edit(doc);
    r.inputs.policy = JSON.stringify(doc);
};

const cases: Case[] = [
    ["net-1-only-web-ports-public", "SSH from the world in prod", P, (r) => ((rules(r)[2].sourceIps as string[]) = ["0.0.0.0/0"]), /web-firewall opens port 22 to 0\.0\.0\.0\/0/],
    ["net-1-only-web-ports-public", "another public port", P, (r) => rules(r).push({ direction: "in", protocol: "tcp", port: "8000", sourceIps: ["0.0.0.0/0"] }), /opens port 8000 to 0\.0\.0\.0\/0, the whole internet; only 80 and 443 may be public/],
    ["net-1-only-web-ports-public", "a public ufw rule", P, (r) => editFile(r, "host-0-firewall", "/etc/ufw/pulumi-rules", (c) => c + "allow proto tcp to any port 8000\n"), /ufw rule "allow proto tcp to any port 8000" .* opens port 8000/],
    ["net-1-only-web-ports-public", "a public security group port", R, (r) => (res(r, "web-security-group").inputs.ingress as any[]).push({ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }), /web-security-group opens every port to 0\.0\.0\.0\/0, the whole internet/],
    ["net-2-database-port-not-public", "5432 in the firewall", P, (r) => rules(r).push({ direction: "in", protocol: "tcp", port: "5432", sourceIps: ["198.51.100.0/24"] }), /lets 198\.51\.100\.0\/24 reach 5432/],
    ["net-2-database-port-not-public", "PostgreSQL listening everywhere", P, (r) => editFile(r, "database-postgresql", pgConf, (c) => c.replace("listen_addresses = 'localhost'", "listen_addresses = '*'")), /makes PostgreSQL listen on \*/],
    ["net-2-database-port-not-public", "RDS publicly accessible", R, (r) => (res(r, "database-instance").inputs.publiclyAccessible = true), /database-instance is publicly accessible/],
    ["net-3-host-and-cloud-firewall", "no cloud firewall", P, (r) => (res(r, "web-server-0").inputs.firewallIds = []), /server web-server-0 has no cloud firewall attached/],
    ["net-3-host-and-cloud-firewall", "ufw never enabled", P, (r) => editScript(r, "host-0-firewall", (s) => s.replace("ufw --force enable", "true")), /no remote step enables ufw with default deny incoming/],
    ["net-4-app-on-loopback", "app bound to all addresses", P, (r) => editFile(r, "service-0-service", unit, (c) => c.replace("BIND=127.0.0.1:8000", "BIND=0.0.0.0:8000")), /binds the app to 0\.0\.0\.0:8000/],
    ["net-4-app-on-loopback", "proxy to another host", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace(/proxy_pass http:\/\/127\.0\.0\.1:8000;\n    \}\n\}/, "proxy_pass http://10.0.0.5:8000;\n    }\n}")), /proxies \/ to http:\/\/10\.0\.0\.5:8000/],
    ["net-6-web-ports-only-from-load-balancer", "443 public behind the load balancer", F, (r) => rules(r).push({ direction: "in", protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0"] }), /web-firewall opens 443 to 0\.0\.0\.0\/0 although a load balancer takes the traffic/],
    ["net-7-load-balancer-health-check", "a TCP health check", F, (r) => ((res(r, "web-service-443").inputs.healthCheck as any).protocol = "tcp"), /checks health over tcp/],
    ["tls-7-load-balancer-redirects-and-keeps-tls", "TLS terminated by Hetzner", F, (r) => (res(r, "web-service-443").inputs.protocol = "https"), /terminates TLS at the load balancer/],
    ["px-4-real-client-address-behind-load-balancer", "no PROXY header", F, (r) => (res(r, "web-service-80").inputs.proxyprotocol = false), /without the PROXY protocol header/],
    ["net-5-internal-services-private", "node exporter port public", P, (r) => rules(r).push({ direction: "in", protocol: "tcp", port: "9100", sourceIps: ["0.0.0.0/0"] }), /opens port 9100 \(a metrics port\)/],
    ["mon-2-metrics-not-public", "node exporter port public", P, (r) => rules(r).push({ direction: "in", protocol: "tcp", port: "9100", sourceIps: ["0.0.0.0/0", "::/0"] }), /opens port 9100 to the internet, exposing metrics/],
    ["ssh-1-no-root-login", "root login", P, (r) => editFile(r, "host-0-ssh", sshd, (c) => c.replace("PermitRootLogin no", "PermitRootLogin prohibit-password")), /PermitRootLogin prohibit-password; set PermitRootLogin no/],
    ["ssh-2-key-only-login", "password login", P, (r) => editFile(r, "host-0-ssh", sshd, (c) => c.replace("PasswordAuthentication no", "PasswordAuthentication yes")), /passwordauthentication yes; set it to no/],
    ["ssh-2-key-only-login", "keyboard-interactive login", P, (r) => editFile(r, "host-0-ssh", sshd, (c) => c.replace("KbdInteractiveAuthentication no", "KbdInteractiveAuthentication yes")), /kbdinteractiveauthentication yes/],
    ["ssh-3-ssh-admin-only", "more auth tries", P, (r) => editFile(r, "host-0-ssh", sshd, (c) => c.replace("MaxAuthTries 3", "MaxAuthTries 6")), /MaxAuthTries is 6, not <= 3/],
    ["ssh-3-ssh-admin-only", "TCP forwarding", P, (r) => editFile(r, "host-0-ssh", sshd, (c) => c.replace("AllowTcpForwarding no", "AllowTcpForwarding yes")), /allowtcpforwarding is yes, not no/],
    ["ssh-3-ssh-admin-only", "no AllowUsers", P, (r) => editFile(r, "host-0-ssh", sshd, (c) => c.replace("AllowUsers deploy\n", "")), /AllowUsers is not set/],
    ["ssh-4-fail2ban-sshd-jail", "a short ban", P, (r) => editFile(r, "host-0-fail2ban", "/etc/fail2ban/jail.d/sshd.local", (c) => c.replace("bantime = 3600", "bantime = 600")), /bantime = 600 \(\/etc\/fail2ban\/jail\.d\/sshd\.local\)/],
    ["host-1-unattended-upgrades", "upgrades off", P, (r) => editFile(r, "host-0-upgrades", "/etc/apt/apt.conf.d/20auto-upgrades", (c) => c.replace('Unattended-Upgrade "1"', 'Unattended-Upgrade "0"')), /sets APT::Periodic::Unattended-Upgrade "0", the value apt-config ends up with/],
    ["host-2-sysctl-hardening", "no reverse-path filter", P, (r) => editFile(r, "host-0-sysctl", "/etc/sysctl.d/99-zz-hardening.conf", (c) => c.replace("net.ipv4.conf.all.rp_filter = 1", "net.ipv4.conf.all.rp_filter = 0")), /net\.ipv4\.conf\.all\.rp_filter ends up 0 \(set last by \/etc\/sysctl\.d\/99-zz-hardening\.conf\), needs 1/],
    ["host-3-admin-and-app-users", "an admin with a password", P, (r) => (res(r, "web-server-0").inputs.userData = String(res(r, "web-server-0").inputs.userData).replace("lock_passwd: true", "lock_passwd: false")), /admin user deploy has a usable password/],
    ["host-3-admin-and-app-users", "the app as root", P, (r) => editFile(r, "service-0-service", unit, (c) => c.replace("User=webapp", "User=root")), /runs the app as root/],
    ["host-4-imds-v2-only", "IMDSv1 answered", R, (r) => ((res(r, "web-server-0").inputs.metadataOptions as any).httpTokens = "optional"), /web-server-0 answers IMDSv1 \(httpTokens "optional"\)/],
    ["host-4-imds-v2-only", "metadata tokens beyond the host", R, (r) => ((res(r, "web-server-0").inputs.metadataOptions as any).httpPutResponseHopLimit = 3), /lets metadata tokens travel 3 hops/],
    ["host-5-encrypted-disks", "an unencrypted root volume", R, (r) => ((res(r, "web-server-0").inputs.rootBlockDevice as any).encrypted = false), /web-server-0: the root volume is not encrypted/],
    ["tls-1-http-redirects-to-https", "port 80 serving the app", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("return 301 https://$host$request_uri;", "proxy_pass http://127.0.0.1:8000;")), /the port-80 location \/ serves content instead of redirecting/],
    ["tls-2-tls-1-2-or-newer", "TLS 1.0", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.2 TLSv1.3;")), /the server offers TLSv1; allow TLSv1\.2 and TLSv1\.3 only/],
    ["tls-2-tls-1-2-or-newer", "Debian's default left in place", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("    ssl_protocols TLSv1.2 TLSv1.3;\n", "")), /offers TLSv1, TLSv1\.1 \(the server sets no ssl_protocols, and at the http level Debian's nginx\.conf enables TLSv1 and TLSv1\.1/],
    ["tls-3-ecdhe-aead-ciphers", "a CBC cipher", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("ssl_ciphers ", "ssl_ciphers ECDHE-RSA-AES128-SHA:")), /ssl_ciphers includes ECDHE-RSA-AES128-SHA/],
    ["tls-4-hsts", "short HSTS", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("max-age=63072000", "max-age=300")), /HSTS max-age is 300; use at least 31536000/],
    ["tls-4-hsts", "HSTS off", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace(/ {4}add_header Strict-Transport-Security[^\n]*\n/, "")), /Strict-Transport-Security is not sent/],
    ["tls-4-hsts", "a location dropping it", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("location / {\n        proxy_pass", 'location / {\n        add_header Cache-Control "no-store";\n        proxy_pass')), /location \/ drops HSTS with its own add_header/],
    ["tls-5-lets-encrypt-renewal", "the staging CA in prod", P, (r) => editScript(r, "proxy-0-nginx", (s) => s.replace("'-d' 'app.example.com'", "'-d' 'app.example.com' '--staging'")), /asks the Let's Encrypt staging CA in prod/],
    ["tls-5-lets-encrypt-renewal", "no deploy hook", P, (r) => editScript(r, "proxy-0-nginx", (s) => s.replace("'--deploy-hook' '/usr/local/lib/webapp/certbot-deploy-hook' ", "")), /runs certbot without a deploy hook/],
    ["tls-6-session-cache-no-tickets", "session tickets on", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("ssl_session_tickets off;", "ssl_session_tickets on;")), /ssl_session_tickets is not off/],
    ["hdr-1-nosniff", "no nosniff", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace(/ {4}add_header X-Content-Type-Options[^\n]*\n/, "")), /X-Content-Type-Options is not set/],
    ["hdr-2-frame-options", "framing allowed", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace('X-Frame-Options "DENY"', 'X-Frame-Options "ALLOWALL"')), /X-Frame-Options is "ALLOWALL"/],
    ["hdr-3-referrer-policy", "full referrers", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace('Referrer-Policy "strict-origin-when-cross-origin"', 'Referrer-Policy "unsafe-url"')), /Referrer-Policy is "unsafe-url"/],
    ["hdr-4-permissions-policy", "camera allowed", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("camera=()", "camera=*")), /Permissions-Policy is "camera=\*/],
    ["hdr-5-content-security-policy", "unsafe-inline scripts in prod", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")), /the CSP allows 'unsafe-inline' for scripts \(script-src\)/],
    ["hdr-5-content-security-policy", "no CSP", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace(/ {4}add_header Content-Security-Policy[^\n]*\n/, "")), /Content-Security-Policy is not sent/],
    ["hdr-6-server-tokens-off", "version announced", P, (r) => editFile(r, "proxy-0-nginx", httpConf, (c) => c.replace("server_tokens off;", "server_tokens on;")), /server_tokens is on; set server_tokens off/],
    ["rl-1-login-rate-limit", "a loose login limit", P, (r) => editFile(r, "proxy-0-nginx", httpConf, (c) => c.replace("rate=5r/m", "rate=30r/m")), /no location is limited to <= 5 requests per minute/],
    ["rl-1-login-rate-limit", "a large burst", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("burst=4 nodelay", "burst=10 nodelay")), /allows a burst of 10; use at most 5/],
    ["rl-1-login-rate-limit", "503 instead of 429", P, (r) => editFile(r, "proxy-0-nginx", httpConf, (c) => c.replace("limit_req_status 429;\n", "")), /location = \/login answers limited requests 503 \(unset: nginx's default\); set limit_req_status 429/],
    ["rl-2-api-rate-limit", "an unlimited API", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace(/ {8}limit_req zone=webapp_api[^\n]*\n/, "")), /no API location is rate limited per client/],
    ["px-1-proxy-headers-timeouts", "no X-Forwarded-Proto", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("    proxy_set_header X-Forwarded-Proto $scheme;\n", "")), /does not pass X-Forwarded-Proto/],
    ["px-1-proxy-headers-timeouts", "no read timeout", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace(/ {4}proxy_read_timeout[^\n]*\n/, "")), /proxy_read_timeout not set/],
    ["px-2-dotfiles-and-uploads", "dotfiles served", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("location ~ /\\. {\n        return 404;\n    }\n", "")), /\/\.env is answered by location \/, which does not refuse it/],
    ["px-2-dotfiles-and-uploads", "uploads served directly", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("        internal;\n", "")), /location \/uploads\/ serves files with their types/],
    ["px-3-body-size-limit", "no body limit", P, (r) => editFile(r, "proxy-0-nginx", site, (c) => c.replace("client_max_body_size 10m;", "client_max_body_size 0;")), /client_max_body_size 0 disables the limit/],
    ["svc-1-dedicated-user", "the app as root", P, (r) => editFile(r, "service-0-service", unit, (c) => c.replace("User=webapp\n", "")), /it runs as root \(no User=/],
    ["svc-2-systemd-sandbox", "a weaker sandbox", P, (r) => editFile(r, "service-0-service", unit, (c) => c.replace("ProtectSystem=strict", "ProtectSystem=full").replace("CapabilityBoundingSet=\n", "")), /ProtectSystem is full, needs strict; CapabilityBoundingSet is unset/],
    ["svc-3-restart-with-backoff", "no restart", P, (r) => editFile(r, "service-0-service", unit, (c) => c.replace("Restart=on-failure", "Restart=no")), /Restart is no; set Restart=on-failure/],
    ["svc-4-secrets-as-credentials", "a secret in Environment=", P, (r) => editFile(r, "service-0-service", unit, (c) => c.replace("Restart=on-failure", 'Environment="DATABASE_PASSWORD=x"\nRestart=on-failure')), /puts DATABASE_PASSWORD in Environment=/],
    ["svc-4-secrets-as-credentials", "a readable credential file", P, (r) => editScript(r, "service-0-credentials", (s) => s.replace("install_file '/etc/webapp/credentials/app-secret-key' 0600", "install_file '/etc/webapp/credentials/app-secret-key' 0644")), /writes credential \/etc\/webapp\/credentials\/app-secret-key as root:root 0644/],
    ["svc-5-production-mode", "debug on in prod", P, (r) => editFile(r, "service-0-service", unit, (c) => c.replace("FLASK_DEBUG=0", "FLASK_DEBUG=1")), /FLASK_DEBUG=1 turns debugging on/],
    ["svc-6-health-check-timer", "no health check timer", P, (r) => dropFile(r, "service-0-service", "/etc/systemd/system/webapp-healthcheck.timer"), /no health check timer is shipped/],
    ["log-1-logrotate", "a week of logs", P, (r) => editFile(r, "service-0-service", "/etc/logrotate.d/webapp", (c) => c.replace("rotate 30", "rotate 7")), /rotate 7 keeps less than 30 days/],
    ["log-2-fail2ban-app-jail", "a lax app jail", P, (r) => editFile(r, "host-0-fail2ban", "/etc/fail2ban/jail.d/webapp.local", (c) => c.replace("maxretry = 5", "maxretry = 20")), /jail \[webapp\] has maxretry = 20/],
    ["mon-1-resource-alerts", "a late CPU alert", P, (r) => editFile(r, "host-0-monitoring", "/usr/local/lib/webapp/resource-alerts", (c) => c.replace("CPU_PERCENT=80", "CPU_PERCENT=95")), /CPU_PERCENT 95 > 80/],
    ["sec-1-strong-generated-secrets", "a 16-character password", P, (r) => (res(r, "app-db-password").inputs.length = 16), /app-db-password: length 16 < 32/],
    ["sec-1-strong-generated-secrets", "no specials", P, (r) => (res(r, "app-app-secret-key").inputs.special = false), /special characters are off/],
    ["sec-2-no-plaintext-secrets", "a password in a label", P, (r) => ((res(r, "web-server-0").inputs.labels as any).note = "password=hunter2hunter2"), /web-server-0 carries a password assignment in labels/],
    ["sec-2-no-plaintext-secrets", "a private key in user data", P, (r) => (res(r, "web-server-0").inputs.userData = String(res(r, "web-server-0").inputs.userData) + "# -----BEGIN OPENSSH PRIVATE KEY-----\n"), /carries a private key in userData/],
    ["sec-3-secrets-manager-in-prod", "immediate deletion", P, (r) => (res(r, "app-db-password-secret").inputs.recoveryWindowInDays = 0), /app-db-password-secret is deleted at once/],
    ["sec-4-secrets-rotate", "no rotation", P, (r) => {
        delete res(r, "app-db-password").inputs.keepers;
        delete res(r, "app-db-password").outputs.keepers;
    }, /app-db-password never rotates/],
    ["sec-4-secrets-rotate", "a single encryption key slot", P, (r) => (r.resources = r.resources.filter((x) => x.name !== "app-encryption-key-b")), /has no second slot/],
    ["sec-5-secrets-stay-secret", "a secret in user data", P, (r) => (res(r, "web-server-0").inputs.userData = `${res(r, "web-server-0").inputs.userData}# ${(res(r, "app-db-password").outputs.result as { value: string }).value}\n`), /web-server-0 carries the generated secret app-db-password in userData/],
    ["sec-5-secrets-stay-secret", "a generated secret passed to a non-secret step as a plain value", P, (r) => (res(r, "service-0-service").inputs.stdin = renderPayload({ "database-host": (res(r, "app-db-password").outputs.result as { value: string }).value })), /service-0-service carries the generated secret app-db-password in stdin/],
    ["sec-5-secrets-stay-secret", "credentials in a non-secret step", P, (r) => (res(r, "service-0-credentials").additionalSecretOutputs = []), /service-0-credentials writes credential .* but is not a secret step/],
    ["sec-6-least-privilege-secret-access", "read every secret", P, (r) => policyDoc(r, "app-read-policy", (d) => (d.Statement[0].Resource = "*")), /allows reading every secret \(\*\)/],
    ["sec-6-least-privilege-secret-access", "manage secrets", P, (r) => policyDoc(r, "app-read-policy", (d) => (d.Statement[0].Action = ["secretsmanager:*"])), /allows secretsmanager:\* on Secrets Manager/],
    ["db-1-database-not-public", "RDS publicly accessible", R, (r) => (res(r, "database-instance").inputs.publiclyAccessible = true), /database-instance is publicly accessible/],
    ["db-2-database-tls", "a non-TLS rule", P, (r) => editFile(r, "database-postgresql", hba, (c) => c + "host    webapp          webapp          10.0.0.0/8              scram-sha-256\n"), /without TLS \(host\); use hostssl/],
    ["db-2-database-tls", "TLS off", P, (r) => editFile(r, "database-postgresql", pgConf, (c) => c.replace("ssl = on", "ssl = off")), /sets ssl = off, the value PostgreSQL ends up with; set ssl = on/],
    ["db-2-database-tls", "RDS without forced TLS", R, (r) => (res(r, "database-parameters").inputs.parameters = []), /database-instance does not force TLS/],
    ["db-3-app-role-least-privilege", "a superuser app role", P, (r) => editFile(r, "database-role", roleSql, (s) => s.replace("NOSUPERUSER", "SUPERUSER")), /role webapp ends up with SUPERUSER/],
    ["db-3-app-role-least-privilege", "RDS: the app role given SUPERUSER by the admin", R, (r) => editFile(r, "database-role", roleSql, (s) => s.replace("NOCREATEDB", "SUPERUSER NOCREATEDB")), /role webapp ends up with SUPERUSER/],
    ["db-3-app-role-least-privilege", "RDS: the app role given BYPASSRLS", R, (r) => editFile(r, "database-role", roleSql, (s) => s.replace("NOCREATEDB", "BYPASSRLS NOCREATEDB")), /role webapp ends up with BYPASSRLS/],
    ["db-3-app-role-least-privilege", "PUBLIC keeps its grants", P, (r) => editFile(r, "database-role", roleSql, (s) => s.replace("REVOKE ALL ON DATABASE webapp FROM PUBLIC;\n", "")), /PUBLIC keeps its grants on the app database/],
    ["db-4-scram-no-trust", "a trust rule", P, (r) => editFile(r, "database-postgresql", hba, (c) => c + "local   all             all                                     trust\n"), /has a trust rule for all@all \(local\)/],
    ["db-4-scram-no-trust", "md5 hashing", P, (r) => editFile(r, "database-postgresql", pgConf, (c) => c.replace("password_encryption = 'scram-sha-256'", "password_encryption = 'md5'")), /sets password_encryption = md5/],
    ["db-5-rds-protections", "unencrypted RDS", R, (r) => (res(r, "database-instance").inputs.storageEncrypted = false), /database-instance: storage is not encrypted/],
    ["db-5-rds-protections", "no deletion protection in prod", R, (r) => (res(r, "database-instance").inputs.deletionProtection = false), /deletion protection is off/],
    ["bk-1-backup-timers", "a timer that forgets missed runs", P, (r) => editFile(r, "backups-timers", "/etc/systemd/system/webapp-backup-daily.timer", (c) => c.replace("Persistent=true", "Persistent=false")), /webapp-backup-daily\.timer is not Persistent=true/],
    ["bk-1-backup-timers", "no weekly backup", P, (r) => dropFile(r, "backups-timers", "/etc/systemd/system/webapp-backup-weekly.timer"), /no weekly backup timer/],
    ["bk-2-backup-retention", "a week of daily backups", P, (r) => editFile(r, "backups-timers", backup, (c) => c.replace("daily) keep_days=35", "daily) keep_days=7")), /keeps daily backups 7 days/],
    ["bk-2-backup-retention", "short off-site expiry", P, (r) => ((res(r, "offsite-lifecycle").inputs.rules as any[])[1].expiration.days = 30), /offsite-lifecycle expires weekly copies after 30 days; keep them >= 90/],
    ["bk-3-backup-verified", "no verification", P, (r) => editFile(r, "backups-timers", backup, (c) => c.replace(/pg_restore --list "\$tmp" >\/dev\/null \|\| fail[^\n]*\n/, "")), /nothing verifies the written backup/],
    ["bk-4-backup-compressed-atomic", "written in place", P, (r) => editFile(r, "backups-timers", backup, (c) => c.replace('tmp=$(mktemp "$dir/.partial.XXXXXX")', 'tmp="$dir/$name"')), /not written under a temporary name and renamed/],
    ["bk-5-offsite-backups-in-prod", "backups kept on the server", P, (r) => editFile(r, "backups-timers", backup, (c) => c.replace(/ s3 cp /g, " s3 ls ")), /keeps backups on the server only; set webapp:offsiteBackup true/],
    ["bk-6-offsite-bucket-protections", "public access allowed", P, (r) => (res(r, "offsite-public-access-block").inputs.blockPublicPolicy = false), /public access is not fully blocked \(blockPublicPolicy\)/],
    ["bk-6-offsite-bucket-protections", "no versioning", P, (r) => ((res(r, "offsite-versioning").inputs.versioningConfiguration as any).status = "Suspended"), /versioning is not enabled/],
    ["bk-6-offsite-bucket-protections", "plain HTTP allowed", P, (r) => policyDoc(r, "offsite-tls-only", (d) => (d.Statement[0].Effect = "Allow")), /no bucket policy denies requests without TLS/],
    ["bk-6-offsite-bucket-protections", "a writer that may delete", P, (r) => policyDoc(r, "offsite-writer-policy", (d) => (d.Statement[0].Action = ["s3:PutObject", "s3:DeleteObject"])), /offsite-writer-policy lets the backup writer do s3:DeleteObject/],
    ["bk-7-restore-drill", "no drill", P, (r) => dropFile(r, "backups-timers", "/etc/systemd/system/webapp-restore-drill.timer"), /no scheduled restore drill \(timer missing\)/],
    ["bk-7-restore-drill", "RDS without the logical backups", R, (r) => (r.resources = r.resources.filter((x) => !x.name.startsWith("backups-"))), /no restore script is shipped/],
    ["bk-8-stale-backup-check", "a lax stale check", P, (r) => editFile(r, "backups-timers", "/usr/local/lib/webapp/backup-stale-check", (c) => c.replace("-gt 93600 ]", "-gt 172800 ]")), /accepts backups 48 hours old/],
    ["prot-1-protect-stateful-resources", "an unprotected server", P, (r) => (res(r, "web-server-0").protect = false), /web-server-0 \(hcloud:index\/server:Server\): not protected in Pulumi/],
    ["prot-1-protect-stateful-resources", "no provider protection", P, (r) => (res(r, "web-volume-0").inputs.deleteProtection = false), /web-volume-0 .*deleteProtection is false, needs true/],
    ["prot-2-provider-backups", "no server backups", P, (r) => (res(r, "web-server-0").inputs.backups = false), /web-server-0 has provider backups off/],
    ["ssh-5-host-keys-and-groups", "the ECDSA host key offered", P, (r) => editFile(r, "host-0-ssh", "/etc/ssh/sshd_config.d/10-hardening.conf", (c) => c.replace("HostKey /etc/ssh/ssh_host_rsa_key\n", "HostKey /etc/ssh/ssh_host_rsa_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n")), /sshd offers the host key \/etc\/ssh\/ssh_host_ecdsa_key/],
    ["ssh-6-no-compression-few-sessions", "compression on", P, (r) => editFile(r, "host-0-ssh", "/etc/ssh/sshd_config.d/10-hardening.conf", (c) => c.replace("Compression no", "Compression yes")), /Compression is yes, not no/],
    ["host-6-security-updates-source", "no security suite", P, (r) => dropFile(r, "host-0-upgrades", "/etc/apt/sources.list.d/debian-security.sources"), /no remote step ships an enabled APT source for Debian's security suite/],
    ["host-7-kernel-self-protection", "ptrace for everyone", P, (r) => editFile(r, "host-0-sysctl", "/etc/sysctl.d/99-zz-hardening.conf", (c) => c.replace("kernel.yama.ptrace_scope = 2", "kernel.yama.ptrace_scope = 0")), /kernel\.yama\.ptrace_scope ends up 0/],
    ["host-8-no-core-dumps", "core dumps for logins", P, (r) => editFile(r, "host-0-baseline", "/etc/security/limits.d/10-no-core-dumps.conf", (c) => c.replace("*    hard    core    0", "*    hard    core    unlimited")), /lets \* dump core \(hard core unlimited\)/],
    ["host-9-unused-modules-blocked", "sctp loadable", P, (r) => editFile(r, "host-0-baseline", "/etc/modprobe.d/10-hardening.conf", (c) => c.replace("install sctp /bin/false\n", "")), /sctp can still be loaded/],
    ["host-10-restrictive-permissions", "a login umask of 022", P, (r) => editFile(r, "host-0-baseline", "/etc/profile.d/10-umask.sh", (c) => c.replace("umask 027", "umask 022")), /sets umask 022 for login shells/],
    ["log-3-audit-trail", "auditing switched off", P, (r) => addFile(r, "host-0-audit", "/etc/audit/rules.d/99-off.rules", "-e 0\n"), /auditing switched off \(-e 0\)/],
    ["prot-3-user-data-never-replaces", "user data may replace the server", P, (r) => (res(r, "web-server-0").ignoreChanges = ["sshKeys"]), /web-server-0 would be replaced or restarted by a user data change/],
];

describe("each rule has a violating case", () => {
    test.each(cases.map((c) => [c[0], c[1], c] as const))("%s: %s", (policy, _what, [, , base, mutate, message]) => {
        const run = clone(base());
        expect(findings(run).filter((f) => f.policy === policy)).toEqual([]);
        mutate(run);
        const found = findings(run).filter((f) => f.policy === policy);
        expect(found.length).toBeGreaterThan(0);
        expect(found.map((f) => f.message).join("\n")).toMatch(message);
        for (const f of found) {
            expect(f.level).toBe("mandatory");
            expect(f.message.length).toBeGreaterThan(20);
        }
    });

    test("every policy has at least one violating case", () => {
        const tested = new Set(cases.map((c) => c[0]));
        expect(POLICIES.map((p) => p.name).filter((n) => !tested.has(n))).toEqual([]);
    });
});

describe("the pack's caches change no verdict", () => {
    /**
     * As the engine runs the pack: every policy gets its own copy of the resources (here each evaluation of one
     * policy builds its own), every text met for the first time (the caches emptied before each policy).
     */
    const oneByOne = (run: PlanRun) =>
        ALL_POLICIES.flatMap((p) => {
            forgetTexts();
            return evaluate(run, [p], packConfig(run.stack)).findings;
        });
    const key = (f: Finding) => `${f.policy} ${f.urn ?? ""} ${f.message}`;

    test.each(cases.filter((_, i) => i % 7 === 0).map((c) => [c[0], c[1], c] as const))("%s: %s", (_policy, _what, [, , base, mutate]) => {
        const run = clone(base());
        mutate(run);
        const warm = findings(run).map(key).sort();
        expect(warm.length).toBeGreaterThan(0);
        expect(oneByOne(run).map(key).sort()).toEqual(warm);
        // And warm again, after the cold pass: the same.
        expect(findings(run).map(key).sort()).toEqual(warm);
    });
});

describe("waivers", () => {
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    const broken = () => {
        const run = clone(prod);
        res(run, "web-server-0").inputs.backups = false;
        return run;
    };

    test("a valid waiver turns the finding into a waived one that does not block", () => {
        const f = findings(broken(), [{ control: "PROT-2", resource: "web-server-0", reason: "provider backups replaced by the nightly volume snapshots", owner: "ops@example.com", expires: tomorrow }]);
        expect(f.filter((x) => x.policy === "prot-2-provider-backups")).toEqual([expect.objectContaining({ level: "mandatory", waiver: expect.objectContaining({ owner: "ops@example.com" }) })]);
        expect(f.filter((x) => x.policy === "waivers-valid")).toEqual([]);
    });

    test.each([
        ["expired", { expires: "2020-01-31" }, /waiver 1 \(PROT-2 on web-server-0\) expired on 2020-01-31/],
        ["a short reason", { reason: "because" }, /malformed: reason must say why in at least 10 characters/],
        ["an unknown control", { control: "PROT-9" }, /control "PROT-9" is not a checklist ID/],
        ["no owner", { owner: "" }, /owner is missing/],
        ["a bad date", { expires: "next week" }, /expires "next week" is not a YYYY-MM-DD date/],
        ["an unknown resource", { resource: "web-server-9" }, /names no resource of this stack/],
    ])("%s is itself a mandatory violation and waives nothing", (_name, change, message) => {
        const waiver = { control: "PROT-2", resource: "web-server-0", reason: "provider backups replaced by the nightly volume snapshots", owner: "ops@example.com", expires: tomorrow, ...change };
        const f = findings(broken(), [waiver]);
        const invalid = f.filter((x) => x.policy === "waivers-valid");
        expect(invalid.map((x) => x.message).join("\n")).toMatch(message);
        expect(invalid.every((x) => x.level === "mandatory")).toBe(true);
        if ((change as { resource?: string }).resource === undefined) expect(f.filter((x) => x.policy === "prot-2-provider-backups" && !x.waiver)).toHaveLength(1);
    });
});

describe("where a finding lands", () => {
    test("BK-1: missing backup timers are the step's that ships the backup script, not the stack's first step", () => {
        const run = clone(prod);
        for (const t of ["daily", "weekly"]) dropFile(run, "backups-timers", `/etc/systemd/system/webapp-backup-${t}.timer`);
        const bk1 = findings(run).filter((f) => f.policy === "bk-1-backup-timers");
        expect(bk1.map((f) => [f.message.replace(/;.*/, ""), f.urn?.split("::").pop()])).toEqual([
            ["no daily backup timer at a fixed hour", "backups-timers"],
            ["no weekly backup timer", "backups-timers"],
        ]);
    });
});
