/**
 * `npm run verify`'s parts (issue 16): the deployed intent read from a stack's state, drift with diffs that show
 * no secret, the read-only probe run for real on this machine, and the live judges against real `sshd -T`
 * output. The whole of it runs against a converged VM in tests/e2e.test.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderSshdConfig } from "../lib/render/sshd";
import { PlanRun } from "../plan/run";
import { DEBIAN_SSHD_CONFIG } from "../policies/parse";
import { DeployedHost, deployedHosts, DeployedStep, unwrapSecrets, wantedContent } from "../verify/deployment";
import { fileDrift } from "../verify/drift";
import { liveFindings, openToAnyone, triggeredUnit, worldRules } from "../verify/live";
import { siteFindings, SiteProbe } from "../verify/outside";
import { parseProbe, renderProbe } from "../verify/probe";
import { asFindings, judgeHost, probeFor } from "../verify/run";
import { run, runStack } from "./helpers";

const SIG = "4dabf18193072939515e22adb298388d";
/** A plan's value in the form `pulumi stack export --show-secrets` writes: each secret as {sig, plaintext}. */
function exported(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(exported);
    if (value && typeof value === "object") {
        const o = value as Record<string, unknown>;
        if (o[SIG]) return { [SIG]: "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(unwrapPlan(o.value)) };
        return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, exported(v)]));
    }
    return value;
}
const unwrapPlan = (v: unknown): unknown => (v && typeof v === "object" && SIG in (v as object) ? unwrapPlan((v as { value: unknown }).value) : v);
const deploymentOf = (r: PlanRun) => ({ resources: r.resources.map((x) => ({ urn: x.urn, type: x.type, inputs: exported(x.inputs) })) });

let prod: PlanRun;
let hosts: DeployedHost[];
beforeAll(async () => {
    prod = await runStack("prod");
    hosts = deployedHosts(deploymentOf(prod));
});
const step = (name: string): DeployedStep => hosts.flatMap((h) => h.steps).find((s) => s.name === name)!;

describe("the deployed intent, from the stack's state", () => {
    test("one host with every remote step, reached as the steps reach it, with their key", () => {
        const steps = prod.resources.filter((r) => r.type === "command:remote:Command");
        expect(hosts).toHaveLength(1);
        expect(hosts[0].steps.map((s) => s.name)).toEqual(steps.map((s) => s.name));
        expect(hosts[0]).toMatchObject({ user: "deploy", port: 22 });
        expect(hosts[0].id).toBe(`deploy@${hosts[0].host}:22`);
    });

    test("each step's files, its values from stdin, which of them are secrets, and the units it keeps running", () => {
        const creds = hosts[0].steps.find((s) => s.secretNames.length > 0)!;
        expect(creds.secretNames.every((n) => creds.values[n]?.length >= 32)).toBe(true);
        expect(step("host-0-fail2ban").units).toEqual(["fail2ban"]);
        expect(step("host-0-firewall").files.map((f) => f.path)).toEqual(["/etc/ufw/pulumi-rules"]);
    });

    test("a secret in the state without its plaintext (exported without --show-secrets) is refused", () => {
        expect(() => unwrapSecrets({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" })).toThrow(/--show-secrets/);
    });
});

describe("drift of a managed file", () => {
    test("a changed line shows in a unified diff; mode and owner are named", () => {
        const s = step("host-0-firewall");
        const file = s.files[0];
        const live = wantedContent(s, file).replace(/\n$/, "\nallow proto tcp to any port 5432\n");
        const d = fileDrift(s, file, { path: file.path, exists: true, mode: "664", owner: "deploy:deploy", content: live });
        expect(d?.problems).toEqual(["content", "mode 0664 (wanted 0644)", "owner deploy:deploy (wanted root:root)"]);
        expect(d?.diff).toContain("\n+allow proto tcp to any port 5432");
        expect(d?.diff.split("\n")[0]).toBe("--- a/etc/ufw/pulumi-rules\twanted");
        expect(fileDrift(s, file, { path: file.path, exists: false })?.problems).toEqual(["missing"]);
        expect(fileDrift(s, file, { path: file.path, exists: true, mode: "644", owner: "root:root", content: wantedContent(s, file) })).toBeUndefined();
    });

    test("the diff of a file that holds a secret shows neither the secret nor another value in its place", () => {
        const s = hosts[0].steps.find((x) => x.files.some((f) => f.content.includes("@@secret:")))!;
        const file = s.files.find((f) => f.content.includes("@@secret:"))!;
        const name = s.secretNames.find((n) => file.content.includes(`@@secret:${n}@@`))!;
        const old = "an-old-password-that-was-rotated-away-0123456789";
        const live = wantedContent(s, file).split(s.values[name]).join(old);
        const d = fileDrift(s, file, { path: file.path, exists: true, mode: file.mode ?? "0644", owner: file.owner ?? "root:root", content: live })!;
        expect(d.problems).toEqual(["content"]);
        expect(d.diff).not.toContain(s.values[name]);
        expect(d.diff).not.toContain(old);
        expect(d.diff).toMatch(/\n\+\[a line of a file that holds secrets, not shown\]/);
        expect(d.diff).toContain(`[secret ${name}]`);
    });
});

describe("the probe, run for real on this machine", () => {
    test("it reads each file's mode, owner and bytes back, and a missing file as missing; it passes shellcheck", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-probe-"));
        try {
            const a = path.join(dir, "a.conf");
            const b = path.join(dir, "b bin");
            fs.writeFileSync(a, "line 1\nline 2 ünïcode\n", { mode: 0o640 });
            fs.writeFileSync(path.join(dir, "b"), Buffer.from([0, 1, 2, 255]));
            const script = renderProbe({ files: [a, path.join(dir, "b"), path.join(dir, "absent")], units: ["ssh.service"], appName: "webapp" });
            expect(() => renderProbe({ files: [b], units: [], appName: "webapp" })).toThrow(/has characters/);
            fs.writeFileSync(path.join(dir, "probe.sh"), script);
            expect(run("shellcheck", ["--shell=bash", "--severity=style", path.join(dir, "probe.sh")]).stdout).toBe("");
            const out = run("bash", [path.join(dir, "probe.sh")]);
            const probe = parseProbe(out.stdout);
            const user = `${os.userInfo().username}:${run("id", ["-gn"]).stdout.trim()}`;
            expect(probe.files.get(a)).toEqual({ exists: true, mode: "640", owner: user, content: "line 1\nline 2 ünïcode\n" });
            expect(Buffer.from((probe.files.get(path.join(dir, "b")) as { content: string }).content, "utf8").length).toBeGreaterThan(0);
            expect(probe.files.get(path.join(dir, "absent"))).toEqual({ exists: false });
            expect(Math.abs(probe.now - Date.now() / 1000)).toBeLessThan(60);
            expect([...probe.sections.keys()]).toEqual(["units", "sshd", "ufw", "listen", "fail2ban", "upgrades", "sandbox", "exposure"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("every unit's states from one systemctl show: a stopped, disabled service, a running timer, a unit that is not there", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-units-"));
        try {
            // systemctl show as it prints these (one block per unit, in the order asked; it exits 0).
            const show = [
                "Id=fail2ban.service\nLoadState=loaded\nUnitFileState=disabled\nActiveState=inactive\nNRestarts=2\nNextElapseUSecRealtime=\nNextElapseUSecMonotonic=0\nLastTriggerUSec=n/a",
                "Id=x.timer\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\nNRestarts=\nNextElapseUSecRealtime=Sat 2027-01-16 02:00:00 UTC\nNextElapseUSecMonotonic=0\nLastTriggerUSec=Fri 2027-01-15 02:00:01 UTC",
                "Id=gone.service\nLoadState=not-found\nUnitFileState=\nActiveState=inactive\nNRestarts=0\nNextElapseUSecRealtime=\nNextElapseUSecMonotonic=0\nLastTriggerUSec=n/a",
            ].join("\n\n");
            fs.writeFileSync(path.join(dir, "show.txt"), `${show}\n`);
            fs.writeFileSync(path.join(dir, "systemctl"), `#!/bin/sh\n[ "$1" = show ] && exec cat ${path.join(dir, "show.txt")}\nexit 1\n`, { mode: 0o755 });
            const script = renderProbe({ files: [], units: ["fail2ban.service", "x.timer", "gone.service"], appName: "webapp" });
            expect(script.match(/systemctl show -p Id /g)).toHaveLength(1);
            const probe = parseProbe(run("bash", ["-c", script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } }).stdout);
            expect(Object.fromEntries(probe.units)).toEqual({
                "fail2ban.service": { enabled: "disabled", active: "inactive", restarts: 2 },
                "x.timer": { enabled: "enabled", active: "active", restarts: 0 },
                "gone.service": { enabled: "absent", active: "inactive", restarts: 0 },
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("the probe of a converged host reads every managed file and wanted unit, and the backups and certificate where they are", () => {
        const script = probeFor(hosts[0], "webapp");
        const probed = /^probe_files (.*)$/m.exec(script)?.[1] ?? "";
        for (const f of hosts[0].steps.flatMap((s) => s.files)) expect(probed).toContain(`'${f.path}'`);
        expect(script).toMatch(/systemctl show -p Id .* 'fail2ban'/);
        expect(script).toContain("find '/var/backups/webapp' -type f -name '*.sha256'");
        expect(script).toContain("-in '/etc/webapp/tls/fullchain.pem'");
        // Read-only: nothing in it writes, moves, restarts or installs.
        expect(script).not.toMatch(/\b(tee|mv|cp|rm|install|restart|reload|start|stop|enable|apt-get install|ufw (allow|deny|reset|enable))\b/);
    });
});

/** sshd -T of Debian's sshd_config with these drop-ins, as root runs it on the host. */
function sshdT(dropIns: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-sshd-"));
    try {
        fs.mkdirSync(path.join(dir, "sshd_config.d"));
        for (const [name, content] of Object.entries(dropIns)) fs.writeFileSync(path.join(dir, "sshd_config.d", name), content);
        run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "hostkey")]);
        fs.writeFileSync(path.join(dir, "sshd_config"), `${DEBIAN_SSHD_CONFIG.replace(/\/etc\/ssh\//g, `${dir}/`)}\nHostKey ${dir}/hostkey\n`);
        fs.mkdirSync("/run/sshd", { recursive: true });
        const res = run("/usr/sbin/sshd", ["-T", "-f", path.join(dir, "sshd_config")]);
        if (res.status !== 0) throw new Error(`sshd -T failed: ${res.stderr}`);
        return res.stdout;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const UFW_ACTIVE = `Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
80/tcp                     ALLOW IN    Anywhere
443/tcp                    ALLOW IN    Anywhere
22/tcp                     ALLOW IN    198.51.100.0/24
80/tcp (v6)                ALLOW IN    Anywhere (v6)
443/tcp (v6)               ALLOW IN    Anywhere (v6)
`;

describe("the live judges", () => {
    const probe = (sections: Record<string, string>) => ({ now: 1_800_000_000, files: new Map(), units: new Map(), sections: new Map(Object.entries(sections)) });
    const judged = (sections: Record<string, string>) => liveFindings(hosts[0], probe(sections), { appName: "webapp", wantedOpen: ["80", "443"] }).map((f) => `${f.id} ${f.message}`);
    const base = () => ({
        sshd: sshdT({ "10-hardening.conf": renderSshdConfig({ adminUser: "deploy", port: 22 }) }),
        ufw: UFW_ACTIVE,
        listen: "LISTEN 0 244 127.0.0.1:5432 0.0.0.0:*\nLISTEN 0 511 0.0.0.0:443 0.0.0.0:*",
        fail2ban: "Status\n|- Number of jail:\t2\n`- Jail list:\tsshd, webapp",
        upgrades: 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\nactive',
        sandbox: "User=webapp\nNoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes\nPrivateDevices=yes",
        backups: "1799990000.5 /var/backups/webapp/daily/webapp-20270115T020000Z.dump.sha256",
        drill: "Result=success\nExecMainStatus=0\nExecMainExitTimestamp=Sun 2027-01-10 05:00:31 UTC",
        cert: "notAfter=Jan 15 00:00:00 2028 GMT\nsubject=CN = app.example.com\nissuer=C = US, O = Let's Encrypt, CN = R11",
    });

    test("the compliant host: nothing, with the real sshd's effective settings of the hardening drop-in", () => {
        expect(judged(base())).toEqual([]);
    });

    test.each([
        ["an earlier drop-in turns passwords on", { sshd: () => sshdT({ "00-local.conf": "PasswordAuthentication yes\n", "10-hardening.conf": renderSshdConfig({ adminUser: "deploy", port: 22 }) }) }, ["SSH-2 sshd runs with passwordauthentication yes (wanted no); a file under /etc/ssh changed since the deploy"]],
        ["ufw admits 5432 by hand", { ufw: () => `${UFW_ACTIVE}5432                       ALLOW IN    Anywhere\n5432 (v6)                  ALLOW IN    Anywhere (v6)\n` }, ['NET-2 ufw admits port 5432 from anywhere ("5432 ALLOW IN Anywhere"), which the deploy does not open', 'NET-2 ufw admits port 5432 from anywhere ("5432 (v6) ALLOW IN Anywhere (v6)"), which the deploy does not open']],
        ["ufw admits SSH from anywhere", { ufw: () => `${UFW_ACTIVE}22/tcp                     LIMIT IN    Anywhere\n` }, ['NET-1 ufw admits port 22 from anywhere ("22/tcp LIMIT IN Anywhere"), which the deploy does not open']],
        ["ufw off", { ufw: () => "Status: inactive" }, ["NET-3 ufw is not active (Status: inactive)"]],
        ["PostgreSQL on every address", { listen: () => "LISTEN 0 244 0.0.0.0:5432 0.0.0.0:*" }, ["NET-2 PostgreSQL listens on 0.0.0.0:5432, reachable beyond localhost and the private network"]],
        ["fail2ban stopped", { fail2ban: () => "Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?" }, ["SSH-4 fail2ban is not running (Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?), so no client is banned", "LOG-2 fail2ban is not running, so the app's failed logins ban no one"]],
        ["the newest backup 27 h old", { backups: () => "1799902800 /var/backups/webapp/daily/webapp-20270113T020000Z.dump.sha256" }, ["BK-8 the newest verified backup is 27.0 h old (/var/backups/webapp/daily/webapp-20270113T020000Z.dump), more than 26 h"]],
        ["no backup", { backups: () => "" }, ["BK-8 no verified backup (a dump with its .sha256) on the host"]],
        ["a failed drill", { drill: () => "Result=exit-code\nExecMainStatus=1\nExecMainExitTimestamp=Sun 2027-01-10 05:00:31 UTC" }, ["BK-7 the last restore drill failed (result exit-code, status 1, at Sun 2027-01-10 05:00:31 UTC)"]],
        ["an expired certificate", { cert: () => "notAfter=Nov  1 00:00:00 2026 GMT\nsubject=CN = app.example.com\nissuer=CN = webapp test CA" }, [expect.stringMatching(/^TLS-5 the certificate expired \d+\.\d days ago \(Nov  1 00:00:00 2026 GMT, issuer CN = webapp test CA\)$/)]],
        ["unattended upgrades off", { upgrades: () => 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "0";\ninactive' }, ["HOST-1 unattended upgrades are off; apt-daily-upgrade.timer is inactive"]],
        ["the sandbox loosened", { sandbox: () => "User=webapp\nNoNewPrivileges=yes\nProtectSystem=full\nProtectHome=yes\nPrivateTmp=yes\nPrivateDevices=yes" }, ["SVC-2 webapp.service runs with ProtectSystem=full (wanted strict)"]],
    ] as [string, Record<string, () => string>, unknown[]][])("%s", (_name, change, expected) => {
        const sections: Record<string, string> = base();
        for (const [k, v] of Object.entries(change)) sections[k] = v();
        expect(judged(sections)).toEqual(expected);
    });

    test("every finding names the step whose rerun repairs it, or a command", () => {
        const sections: Record<string, string> = { ...base(), ufw: "Status: inactive", fail2ban: "", backups: "" };
        const findings = liveFindings(hosts[0], probe(sections), { appName: "webapp", wantedOpen: ["80", "443"] });
        expect(findings.map((f) => `${f.id} ${f.step?.split("::").pop() ?? f.command}`)).toEqual(["NET-3 host-0-firewall", "SSH-4 host-0-fail2ban", "LOG-2 host-0-fail2ban", "BK-8 sudo systemctl start webapp-backup@daily.service"]);
    });

    test("ufw's rules file names the ports open to anyone; ufw status lists what it admits from anywhere", () => {
        expect(openToAnyone(wantedContent(step("host-0-firewall"), step("host-0-firewall").files[0]))).toEqual(["80", "443"]);
        expect(worldRules(UFW_ACTIVE).map((r) => r.port)).toEqual(["80", "443", "80", "443"]);
    });
});

describe("the site from outside", () => {
    const headers = {
        "strict-transport-security": "max-age=63072000; includeSubDomains; preload",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "strict-origin-when-cross-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        "content-security-policy": "default-src 'self'",
        server: "nginx",
    };
    const site = (change: Partial<SiteProbe> = {}): SiteProbe => ({ ok: { status: 200, headers }, error: { status: 404, headers }, notAfter: "Jan 15 00:00:00 2028 GMT", oldTls: [{ version: "TLSv1.0", accepted: false }, { version: "TLSv1.1", accepted: false }], ...change });

    test("a compliant site: nothing; each lapse under its ID", () => {
        const now = Date.parse("2027-01-15T00:00:00Z") / 1000;
        expect(siteFindings(site(), now)).toEqual([]);
        const { "x-content-type-options": _dropped, ...without } = headers;
        expect(siteFindings(site({ error: { status: 404, headers: { ...without, server: "nginx/1.22.1" } } }), now).map((f) => `${f.id} ${f.message}`)).toEqual([
            "HDR-1 an error page (status 404) comes with no X-Content-Type-Options header (wanted nosniff)",
            "HDR-6 an error page names the server's version (Server: nginx/1.22.1)",
        ]);
        expect(siteFindings(site({ oldTls: [{ version: "TLSv1.1", accepted: true }], notAfter: "Jan 20 00:00:00 2027 GMT" }), now).map((f) => f.id)).toEqual(["TLS-2", "TLS-5"]);
    });
});

describe("the report", () => {
    test("drift and live findings in the plan's shape, each with its repair; an unreachable host is not drift", () => {
        const host = hosts[0];
        const s = step("host-0-firewall");
        const findings = asFindings(
            {
                hosts: [
                    { host, files: [{ path: "/etc/ufw/pulumi-rules", step: s, problems: ["content"], diff: "--- a\n+++ b" }], units: [], live: [{ id: "NET-2", message: "ufw admits port 5432 from anywhere", step: s.urn }] },
                    { host: { ...host, id: "deploy@203.0.113.99:22", host: "203.0.113.99" }, unreachable: "ssh: connect to host 203.0.113.99 port 22: Connection timed out", files: [], units: [], live: [] },
                ],
                site: [],
            },
            { stack: "prod", environment: "staging" },
        );
        expect(findings.map((f) => [f.policy, f.checklistId, f.level, f.message.split("\n")[0]])).toEqual([
            ["host-drift-file", undefined, "mandatory", `/etc/ufw/pulumi-rules on ${host.id} differs from what host-0-firewall writes: content. Repair: pulumi up --replace '${s.urn}' --stack prod`],
            ["net-2-live", "NET-2", "mandatory", `ufw admits port 5432 from anywhere. Repair: pulumi up --replace '${s.urn}' --stack prod`],
            ["host-unreachable", undefined, "mandatory", "deploy@203.0.113.99:22 could not be probed (not drift): ssh: connect to host 203.0.113.99 port 22: Connection timed out"],
        ]);
    });

    test("a host the probe reached with nothing changed judges clean", () => {
        const host = hosts[0];
        const files = new Map(host.steps.flatMap((s) => s.files.map((f) => [f.path, { exists: true as const, mode: f.mode ?? "0644", owner: f.owner ?? "root:root", content: wantedContent(s, f) }])));
        // Keyed as systemctl show's Id names them: fail2ban is fail2ban.service.
        const units = new Map(host.steps.flatMap((s) => s.units.map((u) => [u.includes(".") ? u : `${u}.service`, { enabled: "enabled", active: "active", restarts: 0 }])));
        expect([...units.keys()]).toEqual(expect.arrayContaining(["fail2ban.service", "apt-daily.timer"]));
        const judged = judgeHost(host, { now: 1_800_000_000, files, units, sections: new Map() }, "webapp");
        expect(judged.files).toEqual([]);
        expect(judged.units).toEqual([]);
    });
});

describe("timers that stopped firing", () => {
    test("a wanted timer without a next run is named under the control its job serves, with the step that keeps it", () => {
        const host = hosts[0];
        const timers = [
            "Id=webapp-backup-daily.timer\nNextElapseUSecRealtime=n/a\nNextElapseUSecMonotonic=0\nLastTriggerUSec=Thu 2027-01-14 02:00:03 UTC",
            "Id=webapp-backup-weekly.timer\nNextElapseUSecRealtime=\nNextElapseUSecMonotonic=0\nLastTriggerUSec=n/a",
            "Id=apt-daily-upgrade.timer\nNextElapseUSecRealtime=Sat 2027-01-16 06:31:07 UTC\nNextElapseUSecMonotonic=0\nLastTriggerUSec=Fri 2027-01-15 06:12:44 UTC",
            "Id=webapp-healthcheck.timer\nNextElapseUSecRealtime=\nNextElapseUSecMonotonic=2d 3h 10min 4.5s\nLastTriggerUSec=Fri 2027-01-15 06:12:44 UTC",
            // Between runs of its service a monotonic timer has no next elapse: it is not stopped.
            "Id=webapp-resource-alerts.timer\nNextElapseUSecRealtime=n/a\nNextElapseUSecMonotonic=0\nLastTriggerUSec=Fri 2027-01-15 06:12:44 UTC",
            "Id=webapp-resource-alerts.service\nActiveState=activating",
            // The backup timers start the template's instances (Unit=), which are not running here.
            "Id=webapp-backup@daily.service\nActiveState=inactive",
        ].join("\n\n");
        const findings = liveFindings(host, { now: 1_800_000_000, files: new Map(), units: new Map(), sections: new Map([["units", timers], ["fail2ban", "Jail list:\tsshd, webapp"], ["ufw", UFW_ACTIVE], ["upgrades", 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\nactive']]) }, { appName: "webapp", wantedOpen: ["80", "443"] });
        const timer = findings.filter((f) => f.message.includes("timer"));
        expect(timer.map((f) => [f.id, f.message, f.step?.split("::").pop()])).toEqual([
            ["BK-1", "webapp-backup-daily.timer has no next run (last run: Thu 2027-01-14 02:00:03 UTC)", "backups-timers"],
            ["BK-1", "webapp-backup-weekly.timer has no next run (last run: never)", "backups-timers"],
        ]);
        expect(probeFor(host, "webapp")).toMatch(/systemctl show -p Id -p LoadState -p UnitFileState -p ActiveState -p NRestarts -p NextElapseUSecRealtime -p NextElapseUSecMonotonic -p LastTriggerUSec .*'apt-daily.timer' 'apt-daily.service'/);
        expect(triggeredUnit(host, "webapp-backup-daily.timer")).toBe("webapp-backup@daily.service");
        expect(triggeredUnit(host, "apt-daily.timer")).toBe("apt-daily.service");
    });
});
