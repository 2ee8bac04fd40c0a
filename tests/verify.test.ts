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
import { liveFindings, openToAnyone, pendingSecurity, worldRules } from "../verify/live";
import { PROBE_PACKAGE, securityRepo } from "./support/apt-repo";
import { openPorts, portFindings, probeSite, RATE_LIMIT_TRIES, SCANNED_PORTS, siteFindings, SiteProbe } from "../verify/outside";
import { renderNginxSite } from "../lib/render/nginx";
import * as http from "http";
import { renderApplyScript } from "../lib/render/apply-script";
import { renderUfwRules, UFW_APPLY, UFW_RULES_PATH } from "../lib/render/ufw";
import { asPlaceholders, deployedRun, nginxDump, packOnHosts } from "../verify/pack";
import { parseProbe, ProbeResult, renderProbe, SECURITY_PENDING } from "../verify/probe";
import { ALL_POLICIES } from "../policies/catalog";
import { stackPackConfig } from "../plan/pack-config";
import { debianNginxConf, freePort, selfSignedCert, startNginx, writeProxyInstance } from "./support/nginx";
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
            expect([...probe.sections.keys()]).toEqual(["units", "sshd", "ufw", "listen", "fail2ban", "upgrades", "uu", "pending", "sandbox", "exposure"]);
            // Each section's start, in order, within the probe's own time.
            const starts = [...probe.sectionStartMs.values()];
            expect([...probe.sectionStartMs.keys()]).toEqual([...probe.sections.keys()]);
            expect(starts).toEqual([...starts].sort((x, y) => x - y));
            expect(probe.elapsedMs).toBeGreaterThanOrEqual(starts[starts.length - 1]);
            expect(probe.sections.get("ufw")).toMatch(/^Status: |ufw|ERROR|need to be root/m);
            // This machine's own pending security updates, in the form the judge reads.
            expect(probe.sections.get("pending")!.split("\n").filter(Boolean).length).toBe(pendingSecurity(probe.sections.get("pending")!).length);
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
    const probe = (sections: Record<string, string>) => ({ now: 1_800_000_000, elapsedMs: 0, sectionStartMs: new Map(), files: new Map(), units: new Map(), sections: new Map(Object.entries(sections)) });
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
        ["an earlier drop-in lengthens the login grace time (the real sshd -T prints seconds)", { sshd: () => sshdT({ "00-local.conf": "LoginGraceTime 2m\n", "10-hardening.conf": renderSshdConfig({ adminUser: "deploy", port: 22 }) }) }, ["SSH-3 sshd runs with logingracetime 120 (wanted 1 to 30 seconds); a file under /etc/ssh changed since the deploy"]],
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

describe("unattended-upgrade's runs and the security updates it left", () => {
    const NOW = 1_800_000_000;
    const h = (hours: number) => NOW - hours * 3600;
    const uu = (o: { lastRun?: number; setUp: number; lists: number; held?: string[] }) =>
        [
            ...(o.lastRun ? [`@@mtime ${o.lastRun} /var/log/unattended-upgrades/unattended-upgrades.log`] : []),
            `@@mtime ${o.setUp} /etc/apt/apt.conf.d/20auto-upgrades`,
            `@@lists ${o.lists}.1234567890`,
            ...(o.held ?? []).map((p) => `@@held ${p}`),
        ].join("\n");
    const SECURITY = "@@security libexpat1 2.5.0-1+deb12u1 2.5.0-1+deb12u5";
    const judged = (uuText: string, pending: string) =>
        liveFindings(hosts[0], { now: NOW, elapsedMs: 0, sectionStartMs: new Map(), files: new Map(), units: new Map(), sections: new Map([["uu", uuText], ["pending", pending], ["fail2ban", "Jail list:\tsshd, webapp"], ["ufw", UFW_ACTIVE], ["upgrades", 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\nactive']]) }, { appName: "webapp", wantedOpen: ["80", "443"] })
            .filter((f) => f.id === "HOST-1")
            .map((f) => [f.message, f.command]);

    test("ran within two days after the lists changed, no security update pending: nothing", () => {
        expect(judged(uu({ lastRun: h(5), setUp: h(500), lists: h(20) }), "")).toEqual([]);
    });
    test("a security update that the lists offered before unattended-upgrade's last run is named, a held one with its unhold", () => {
        expect(judged(uu({ lastRun: h(5), setUp: h(500), lists: h(20), held: ["libexpat1"] }), SECURITY)).toEqual([
            [`1 security update is pending that unattended-upgrade did not install in its last run (${new Date(h(5) * 1000).toISOString()}), after the package lists changed: libexpat1 2.5.0-1+deb12u1 -> 2.5.0-1+deb12u5 (held)`, "sudo apt-mark unhold libexpat1 && sudo unattended-upgrade"],
        ]);
    });
    test("a security update that arrived after the last run is not due yet", () => {
        expect(judged(uu({ lastRun: h(20), setUp: h(500), lists: h(5) }), SECURITY)).toEqual([]);
    });
    test("no run for more than 48 h, or none since a deploy three days ago", () => {
        expect(judged(uu({ lastRun: h(50), setUp: h(500), lists: h(60) }), "")).toEqual([["unattended-upgrade last ran 50 h ago (more than 48 h)", "sudo unattended-upgrade"]]);
        expect(judged(uu({ setUp: h(72), lists: h(72) }), SECURITY)).toEqual([["unattended-upgrade has not run since the deploy set it up 72 h ago", "sudo unattended-upgrade"]]);
        expect(judged(uu({ setUp: h(3), lists: h(3) }), SECURITY)).toEqual([]);
    });

    /** The probe's `security_pending` on a package lists directory and a dpkg database. */
    const securityPending = (lists: string, admindir: string) => run("bash", ["-c", `export LC_ALL=C\n${SECURITY_PENDING.join("\n")}\nsecurity_pending ${lists} ${admindir}`]);

    test("real apt lists: a held package's update from a repository with Debian's security label is pending", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-apt-"));
        try {
            const r = securityRepo(dir, { installed: "1.0", update: "1.0+deb12u1" });
            fs.writeFileSync(path.join(dir, "sources.list"), `${r.sourcesLine(r.repo)}\n`);
            // A dpkg database where the old version is installed and held, and another package is up to date.
            fs.mkdirSync(path.join(dir, "dpkg"));
            const stanza = (name: string, status: string, version: string) => `Package: ${name}\nStatus: ${status}\nVersion: ${version}\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: t\n\n`;
            fs.writeFileSync(path.join(dir, "dpkg", "status"), stanza(PROBE_PACKAGE, "hold ok installed", "1.0") + stanza("unrelated", "install ok installed", "2.0"));
            for (const d of ["lists/partial", "cache/archives/partial"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
            // apt itself fetches the repository into the lists directory, named and compressed as this machine's apt does.
            const apt = ["-o", `Dir::Etc::sourcelist=${dir}/sources.list`, "-o", "Dir::Etc::sourceparts=/nonexistent", "-o", `Dir::State::Lists=${dir}/lists`, "-o", `Dir::State::status=${dir}/dpkg/status`, "-o", `Dir::Cache=${dir}/cache`, "-o", "Debug::NoLocking=1"];
            expect(run("apt-get", [...apt, "update"]).status).toBe(0);
            const res = securityPending(path.join(dir, "lists"), path.join(dir, "dpkg"));
            expect(res.stderr).toBe("");
            expect(pendingSecurity(res.stdout)).toEqual([{ name: PROBE_PACKAGE, installed: "1.0", candidate: "1.0+deb12u1" }]);
            // apt's own simulation, held packages included, agrees.
            expect(run("apt-get", [...apt, "-o", "APT::Ignore-Hold=1", "-s", "dist-upgrade"]).stdout).toMatch(new RegExp(`^Inst ${PROBE_PACKAGE} \\[1\\.0\\] \\(1\\.0\\+deb12u1 Debian-Security:12/stable-security \\[all\\]\\)$`, "m"));
            // The same update from a repository without the security label is not a security update.
            fs.writeFileSync(path.join(r.repo, "Release"), fs.readFileSync(path.join(r.repo, "Release"), "utf8").replace("Label: Debian-Security", "Label: Debian").replace(/-security/g, ""));
            expect(run("apt-get", [...apt, "--allow-releaseinfo-change", "update"]).status).toBe(0);
            expect(securityPending(path.join(dir, "lists"), path.join(dir, "dpkg")).stdout).toBe("");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("this machine: every update apt's simulation takes from a security archive is pending by the probe's reading", () => {
        const apt = run("apt-get", ["-s", "-o", "Debug::NoLocking=1", "-o", "APT::Ignore-Hold=1", "dist-upgrade"]).stdout;
        const fromSecurity = [...apt.matchAll(/^Inst (\S+) \[(\S+)\] \((\S+) .*Debian-Security:/gm)].map((m) => ({ name: m[1], installed: m[2], candidate: m[3] }));
        const pending = pendingSecurity(securityPending("/var/lib/apt/lists", "/var/lib/dpkg").stdout);
        expect(pending).toEqual(expect.arrayContaining(fromSecurity));
        console.log(`this machine: ${fromSecurity.length} security updates by apt, ${pending.length} by the probe`);
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

describe("the site from outside, against the rendered site in a real nginx", () => {
    /** The rendered http context and site under Debian's nginx.conf on loopback, before an upstream that answers 200. */
    async function site(change: (site: string) => string) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-site-"));
        const upstream = http.createServer((req, res) => {
            res.statusCode = ["/", "/login"].includes(req.url ?? "") ? 200 : 404;
            res.end();
        });
        await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
        const ports = { http: await freePort(), https: await freePort() };
        const options = { name: "webapp", domains: ["app.example.com"], upstreamPort: (upstream.address() as import("net").AddressInfo).port, certificate: selfSignedCert(dir, ["app.example.com"], 90), acmeWebroot: path.join(dir, "acme"), ports };
        const conf = writeProxyInstance(dir, options);
        fs.writeFileSync(path.join(dir, "sites-enabled", "webapp"), change(renderNginxSite(options)));
        const nginx = await startNginx(conf, ports.https);
        return {
            probe: () => probeSite({ domain: "app.example.com", address: "127.0.0.1", port: ports.https, loginPath: "/login" }, { verifyCertificate: false }),
            stop: async () => {
                await nginx.stop();
                await new Promise((r) => upstream.close(r));
                fs.rmSync(dir, { recursive: true, force: true });
            },
        };
    }

    test("the deployed site: TLS 1.0 and 1.1 refused, every header on a 200 and a 404, and the 6th login request gets 429", async () => {
        const s = await site((x) => x);
        try {
            const p = await s.probe();
            expect(p.oldTls).toEqual([{ version: "TLSv1.0", accepted: false }, { version: "TLSv1.1", accepted: false }]);
            expect([p.ok.status, p.error.status]).toEqual([200, 404]);
            expect(p.rateLimit).toEqual({ path: "/login", statuses: [200, 200, 200, 200, 200, 429] });
            expect(siteFindings(p, Date.now() / 1000)).toEqual([]);
        } finally {
            await s.stop();
        }
    });

    test("the login limit removed from the site: RL-1 after ten requests without a 429", async () => {
        const s = await site((x) => x.replace(/^\s*limit_req zone=\S*login\S* .*\n/m, ""));
        try {
            const p = await s.probe();
            expect(p.rateLimit?.statuses).toHaveLength(RATE_LIMIT_TRIES);
            expect(siteFindings(p, Date.now() / 1000, { nginxStep: "urn:nginx" })).toEqual([
                { id: "RL-1", message: "10 requests in a row to /login got no 429 (statuses 200): the login path is not rate limited per client", step: "urn:nginx" },
            ]);
        } finally {
            await s.stop();
        }
    });
});

describe("which ports answer from outside, through a real ufw", () => {
    /**
     * A host in a network namespace of its own behind a veth pair: ufw applied by the firewall step's script with
     * the deployed rules (SSH only from an admin network the runner is not in), and listeners on SSH, the web ports,
     * PostgreSQL, the load balancer's health port and node exporter's. The scan runs from this side of the pair.
     */
    test("only 80 and 443 answer; after `ufw allow 5432` on the host, 5432 is NET-2's, with the firewall step's rerun", async () => {
        const ns = `verify-scan-${process.pid}`;
        const [outer, inner] = [`vfo${process.pid % 100000}`, `vfi${process.pid % 100000}`];
        const [outside, hostAddress] = ["10.77.0.1", "10.77.0.2"];
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-scan-"));
        const sh = (cmd: string) => {
            const r = run("bash", ["-c", cmd]);
            if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
        };
        let child: import("child_process").ChildProcess | undefined;
        try {
            sh(`ip netns add ${ns} && ip link add ${outer} type veth peer name ${inner} netns ${ns} && ip addr add ${outside}/24 dev ${outer} && ip link set ${outer} up`);
            sh(`ip -n ${ns} addr add ${hostAddress}/24 dev ${inner} && ip -n ${ns} link set ${inner} up && ip -n ${ns} link set lo up`);
            const script = renderApplyScript({ name: "firewall", files: [{ path: UFW_RULES_PATH, content: renderUfwRules({ sshPort: 22, adminCidrs: ["198.51.100.14/32"] }) }], ensure: [...UFW_APPLY] });
            fs.writeFileSync(path.join(dir, "firewall.sh"), script);
            for (const d of ["etc", "lib"]) fs.mkdirSync(path.join(dir, d));
            run("cp", ["-a", "/etc/ufw/.", path.join(dir, "etc")]);
            const host = [
                "set -e",
                `mount --bind ${dir}/etc /etc/ufw; mkdir -p /var/lib/ufw; mount --bind ${dir}/lib /var/lib/ufw`,
                `bash ${dir}/firewall.sh >/dev/null`,
                `${process.execPath} -e 'const net = require("net"); for (const p of [22, 80, 443, 5432, 8404, 9100]) net.createServer((s) => s.end()).listen(p, "0.0.0.0"); setInterval(() => {}, 1 << 30)' &`,
                "sleep 1; echo ready",
                "read -r _; ufw allow 5432 >/dev/null; echo allowed",
                "wait",
            ].join("\n");
            const { spawn } = await import("child_process");
            child = spawn("ip", ["netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "bash", "-c", host], { stdio: ["pipe", "pipe", "pipe"] });
            let out = "";
            let err = "";
            child.stdout!.on("data", (d) => (out += d));
            child.stderr!.on("data", (d) => (err += d));
            const until = async (word: string) => {
                for (let i = 0; i < 100 && !out.includes(word); i++) await new Promise((r) => setTimeout(r, 100));
                if (!out.includes(word)) throw new Error(`the namespaced host did not print ${word}: ${err}`);
            };
            await until("ready");
            expect(await openPorts(hostAddress, SCANNED_PORTS, 1500)).toEqual([80, 443]);
            child.stdin!.write("go\n");
            await until("allowed");
            const open = await openPorts(hostAddress, SCANNED_PORTS, 1500);
            expect(open).toEqual([80, 443, 5432]);
            expect(portFindings(hostAddress, open, { sshPort: 22, firewallStep: "urn:firewall" })).toEqual([
                { id: "NET-2", message: "port 5432 on 10.77.0.2 accepts connections from outside (only 80, 443 and SSH from admin networks should)", step: "urn:firewall" },
            ]);
            // From an admin network SSH answers too, and is expected; node exporter's port is MON-2's.
            expect(portFindings(hostAddress, [22, 80, 443, 9100], { sshPort: 22 }).map((f) => f.id)).toEqual(["MON-2"]);
        } finally {
            child?.kill("SIGKILL");
            run("ip", ["netns", "pids", ns]).stdout.split("\n").filter(Boolean).forEach((pid) => run("kill", ["-9", pid]));
            run("ip", ["link", "del", outer]);
            run("ip", ["netns", "del", ns]);
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the report", () => {
    test("drift and live findings in the plan's shape, each with its repair; an unreachable host is not drift", () => {
        const host = hosts[0];
        const s = step("host-0-firewall");
        const findings = asFindings(
            {
                hosts: [
                    { host, files: [{ path: "/etc/ufw/pulumi-rules", step: s, problems: ["content"], diff: "--- a\n+++ b" }], units: [], live: [{ id: "NET-2", message: "ufw admits port 5432 from anywhere", step: s.urn }], pack: [] },
                    { host: { ...host, id: "deploy@203.0.113.99:22", host: "203.0.113.99" }, unreachable: "ssh: connect to host 203.0.113.99 port 22: Connection timed out", files: [], units: [], live: [], pack: [] },
                ],
                pack: [],
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
        const judged = judgeHost(host, { now: 1_800_000_000, elapsedMs: 0, sectionStartMs: new Map(), files, units, sections: new Map() }, "webapp");
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
            // While the service it started runs, a monotonic timer has no next elapse: it is not stopped, even when
            // the service, read a moment later, has already failed.
            "Id=webapp-resource-alerts.timer\nSubState=running\nNextElapseUSecRealtime=n/a\nNextElapseUSecMonotonic=0\nLastTriggerUSec=Fri 2027-01-15 06:12:44 UTC",
            "Id=webapp-resource-alerts.service\nActiveState=failed",
            // An elapsed timer is named, whatever the unit it starts does.
            "Id=webapp-restore-drill.timer\nSubState=elapsed\nNextElapseUSecRealtime=n/a\nNextElapseUSecMonotonic=0\nLastTriggerUSec=n/a",
            "Id=webapp-restore-drill.service\nActiveState=activating",
        ].join("\n\n");
        const findings = liveFindings(host, { now: 1_800_000_000, elapsedMs: 0, sectionStartMs: new Map(), files: new Map(), units: new Map(), sections: new Map([["units", timers], ["fail2ban", "Jail list:\tsshd, webapp"], ["ufw", UFW_ACTIVE], ["upgrades", 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\nactive']]) }, { appName: "webapp", wantedOpen: ["80", "443"] });
        const timer = findings.filter((f) => f.message.includes("timer"));
        expect(timer.map((f) => [f.id, f.message, f.step?.split("::").pop()])).toEqual([
            ["BK-1", "webapp-backup-daily.timer has no next run (last run: Thu 2027-01-14 02:00:03 UTC)", "backups-timers"],
            ["BK-1", "webapp-backup-weekly.timer has no next run (last run: never)", "backups-timers"],
            ["BK-7", "webapp-restore-drill.timer has no next run (last run: never)", expect.any(String)],
        ]);
        expect(probeFor(host, "webapp")).toMatch(/systemctl show -p Id -p LoadState -p UnitFileState -p ActiveState -p SubState -p NRestarts -p NextElapseUSecRealtime -p NextElapseUSecMonotonic -p LastTriggerUSec .*'apt-daily.timer'/);
        expect(probeFor(host, "webapp")).not.toMatch(/'apt-daily.service'/);
    });
});

describe("the pack on the hosts as they are", () => {
    /** The state as `pulumi stack export --show-secrets` writes it: inputs, outputs, parents and dependencies. */
    const stateOf = (r: PlanRun) => ({
        resources: r.resources.map((x) => ({ urn: x.urn, type: x.type, custom: x.custom, parent: x.parent, inputs: exported(x.inputs), outputs: exported(x.outputs), dependencies: x.dependencies, propertyDependencies: x.propertyDependencies })),
    });
    const config = stackPackConfig({ root: path.resolve(__dirname, ".."), stack: "prod", environment: "prod" });
    /** The host as deployed: every managed file as its step installs it (values and secrets filled in). */
    const converged = (host: DeployedHost) => new Map(host.steps.flatMap((s) => s.files.map((f) => [f.path, { exists: true as const, mode: (f.mode ?? "0644").replace(/^0/, ""), owner: f.owner ?? "root:root", content: wantedContent(s, f) }])));
    const judge = (files: ProbeResult["files"], sections: Record<string, string> = {}) =>
        packOnHosts(deployedRun(stateOf(prod), { project: "webapp", stack: "prod" }), [{ host: hosts[0], probe: { now: 1_800_000_000, elapsedMs: 0, sectionStartMs: new Map(), files, units: new Map(), sections: new Map(Object.entries(sections)) } }], ALL_POLICIES, config);
    const edited = (p: string, change: (content: string) => string) => {
        const files = converged(hosts[0]);
        const f = files.get(p)!;
        expect(f).toBeDefined();
        const content = change(f.content);
        expect(content).not.toBe(f.content);
        files.set(p, { ...f, content });
        return files;
    };
    const shown = (findings: { policy: string; urn?: string; message: string }[]) => findings.map((f) => [f.policy, f.urn?.split("::").pop()]);

    test("the converged host: the pack finds nothing the intent does not have", () => {
        expect(judge(converged(hosts[0]))).toEqual([]);
    });

    test("a security header removed from the site: HDR-1 on the nginx step", () => {
        const findings = judge(edited("/etc/nginx/sites-enabled/webapp", (c) => c.replace(/^\s*add_header X-Content-Type-Options .*\n/gm, "")));
        expect(shown(findings)).toEqual([["hdr-1-nosniff", "proxy-0-nginx"]]);
        expect(findings[0].level).toBe("mandatory");
    });

    test("the login path's rate limit removed from the site: RL-1 on the nginx step", () => {
        const findings = judge(edited("/etc/nginx/sites-enabled/webapp", (c) => c.replace(/^\s*limit_req zone=\S*login\S* .*\n/m, "")));
        expect(findings.map((f) => [f.checklistId, f.urn?.split("::").pop()])).toEqual([["RL-1", "proxy-0-nginx"]]);
    });

    test("an alert threshold raised on the host: MON-1 on the monitoring step", () => {
        const p = hosts[0].steps.flatMap((s) => s.files).find((f) => /^DISK_PERCENT=/m.test(f.content))!.path;
        const findings = judge(edited(p, (c) => c.replace(/^DISK_PERCENT=\d+$/m, "DISK_PERCENT=99")));
        expect(shown(findings)).toEqual([["mon-1-resource-alerts", hosts[0].steps.find((s) => s.files.some((f) => f.path === p))!.name]]);
        expect(findings[0].message).toMatch(/99/);
    });

    test("the app unit's ProtectSystem loosened on the host: SVC-2 on the app's step", () => {
        const findings = judge(edited("/etc/systemd/system/webapp.service", (c) => c.replace(/^ProtectSystem=strict$/m, "ProtectSystem=full")));
        expect(findings.map((f) => f.checklistId)).toEqual(["SVC-2"]);
    });

    test("a file that holds a secret reaches the pack with its placeholders, never the secret", () => {
        const s = hosts[0].steps.find((x) => x.files.some((f) => f.content.includes("@@secret:")))!;
        const file = s.files.find((f) => f.content.includes("@@secret:"))!;
        const live = `${wantedContent(s, file)}# an admin's note\n`;
        const back = asPlaceholders(s, file, live);
        expect(back).toBe(`${file.content}# an admin's note\n`);
        for (const n of s.secretNames) expect(back).not.toContain(s.values[n]);
        expect(asPlaceholders(s, file, wantedContent(s, file))).toBe(file.content);
    });

    /**
     * Real `nginx -T` of the deployed nginx files under Debian's nginx.conf, in a temporary tree whose paths are
     * read back as the host's: with an admin's conf.d file that serves plain HTTP, which no step manages.
     */
    function nginxT(extra: Record<string, string>): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-nginx-"));
        try {
            const conf = debianNginxConf(dir);
            const tls = path.join(dir, "tls");
            fs.mkdirSync(tls);
            selfSignedCert(tls, ["app.example.com"]);
            const moved = (text: string) => text.split("/etc/nginx/").join(`${dir}/`).split("/etc/webapp/tls/").join(`${tls}/`);
            const nginxStep = step("proxy-0-nginx");
            for (const f of nginxStep.files) {
                if (!f.path.startsWith("/etc/nginx/")) continue;
                fs.mkdirSync(path.dirname(moved(f.path)), { recursive: true });
                fs.writeFileSync(moved(f.path), moved(wantedContent(nginxStep, f)));
            }
            for (const [p, content] of Object.entries(extra)) fs.writeFileSync(moved(p), content);
            const res = run("/usr/sbin/nginx", ["-T", "-c", conf, "-e", path.join(dir, "logs", "startup.log")]);
            expect(res.stderr).toMatch(/test is successful/);
            return res.stdout.split(`${tls}/`).join("/etc/webapp/tls/").split(`${dir}/`).join("/etc/nginx/");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    test("nginx -T: every file nginx loads is read back; the host's own nginx.conf adds no finding", () => {
        const dump = nginxDump(nginxT({}))!;
        const paths = dump.map((f) => f.path);
        expect(paths).toEqual(expect.arrayContaining(["/etc/nginx/nginx.conf", "/etc/nginx/conf.d/webapp.conf", "/etc/nginx/sites-enabled/webapp", "/etc/nginx/mime.types"]));
        const site = step("proxy-0-nginx").files.find((f) => f.path === "/etc/nginx/sites-enabled/webapp")!;
        expect(dump.find((f) => f.path === site.path)?.content).toBe(site.content);
        expect(judge(converged(hosts[0]), { nginx: nginxT({}) })).toEqual([]);
        expect(nginxDump("nginx: [emerg] unknown directive \"bogus\" in /etc/nginx/conf.d/x.conf:1\nnginx: configuration file /etc/nginx/nginx.conf test failed\n")).toBeUndefined();
    });

    test("nginx -T: a conf.d file no step manages that serves plain HTTP is TLS-1's, on the host's unmanaged files", () => {
        const legacy = "server {\n    listen 8080;\n    server_name legacy.example.com;\n    location / { proxy_pass http://127.0.0.1:3000; }\n}\n";
        // Named with a space, which no apply script's path may have: judged under the name with an underscore.
        const findings = judge(converged(hosts[0]), { nginx: nginxT({ "/etc/nginx/conf.d/legacy site.conf": legacy }) });
        expect(findings.map((f) => [f.policy, f.urn?.split("::").pop(), f.level, f.message])).toEqual([
            ["tls-1-http-redirects-to-https", "proxy-0-nginx-unmanaged", "mandatory", "/etc/nginx/conf.d/legacy_site.conf (proxy-0-nginx-unmanaged): the port-80 location / serves content instead of redirecting; make it return 301 https://$host$request_uri."],
            ["tls-1-http-redirects-to-https", "proxy-0-nginx-unmanaged", "mandatory", "/etc/nginx/conf.d/legacy_site.conf (proxy-0-nginx-unmanaged): the port-80 server does not redirect to https; add return 301 https://$host$request_uri."],
        ]);
        const report = asFindings({ hosts: [{ host: hosts[0], files: [], units: [], live: [], pack: findings }], pack: [], site: [] }, { stack: "prod", environment: "prod" });
        expect(report[0].policy).toBe("tls-1-http-redirects-to-https");
        expect(report[0].message).toMatch(/conf\.d\/legacy_site\.conf/);
        expect(report[0].message).toMatch(/\[on deploy@.* as it runs; the deployed intent passes\]\. Repair: remove that file from the host, or manage it in the program\.$/);
    });
});
