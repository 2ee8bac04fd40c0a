/**
 * The live controls `npm run verify` judges inside a host, from what the read-only probe read, under the
 * checklist's IDs: sshd's effective settings, ufw's active rules, listening sockets, fail2ban's jails, the newest
 * verified backup's age and the last restore drill, the certificate's expiry, unattended upgrades, and the app
 * unit's effective sandbox. Each finding names the remote step whose rerun repairs it, where one does. Pure.
 */
import type { ChecklistId } from "../policies/checklist";
import type { DeployedHost } from "./deployment";
import { isLocalOrPrivate } from "../policies/network";
import { ProbeResult, showBlocks } from "./probe";
import { BACKUP_STALE_HOURS, SSH_LOGIN_GRACE_SECONDS, SSH_MAX_AUTH_TRIES } from "../lib/controls";

export type LiveFinding = {
    id: ChecklistId;
    message: string;
    /** URN of the remote step whose rerun (`pulumi up --replace`) restores what it wants. */
    step?: string;
    /** A command that repairs what no step's rerun does (a backup now, a renewal). */
    command?: string;
};

/** A certificate must be valid this much longer (certbot renews 30 days before expiry). */
export const MIN_CERTIFICATE_DAYS = 14;

const stepNamed = (host: DeployedHost, suffix: string) => host.steps.find((s) => s.name.endsWith(`-${suffix}`))?.urn;

/** sshd -T's output as key -> values. */
export function parseSshdT(text: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of text.split("\n")) {
        const m = /^([a-z0-9]+) (.*)$/.exec(line.trim());
        if (m && !out.has(m[1])) out.set(m[1], m[2]);
    }
    return out;
}

function sshd(host: DeployedHost, text: string): LiveFinding[] {
    const s = parseSshdT(text);
    const step = stepNamed(host, "ssh");
    if (s.size < 10) return [{ id: "SSH-1", message: `sshd -T did not print sshd's effective settings: ${text.trim().split("\n")[0] ?? ""}`, step }];
    const out: LiveFinding[] = [];
    const want = (id: ChecklistId, key: string, ok: (v: string) => boolean, wanted: string) => {
        const v = s.get(key) ?? "(unset)";
        if (!ok(v)) out.push({ id, message: `sshd runs with ${key} ${v} (wanted ${wanted}); a file under /etc/ssh changed since the deploy`, step });
    };
    want("SSH-1", "permitrootlogin", (v) => v === "no", "no");
    want("SSH-2", "passwordauthentication", (v) => v === "no", "no");
    want("SSH-2", "kbdinteractiveauthentication", (v) => v === "no", "no");
    want("SSH-3", "maxauthtries", (v) => Number(v) <= SSH_MAX_AUTH_TRIES, `${SSH_MAX_AUTH_TRIES} or less`);
    // sshd -T prints LoginGraceTime in seconds.
    want("SSH-3", "logingracetime", (v) => Number(v) > 0 && Number(v) <= SSH_LOGIN_GRACE_SECONDS, `1 to ${SSH_LOGIN_GRACE_SECONDS} seconds`);
    want("SSH-3", "allowtcpforwarding", (v) => v === "no", "no");
    want("SSH-3", "x11forwarding", (v) => v === "no", "no");
    want("SSH-3", "allowagentforwarding", (v) => v === "no", "no");
    want("SSH-6", "compression", (v) => v === "no", "no");
    return out;
}

/** ufw's active rules that admit anyone (`Anywhere`), as `port` or `all`. */
export function worldRules(status: string): { port: string; text: string }[] {
    const out: { port: string; text: string }[] = [];
    for (const line of status.split("\n")) {
        const m = /^(.+?)\s{2,}(ALLOW|LIMIT)(?: IN)?\s{2,}(Anywhere(?: \(v6\))?)\s*(?:#.*)?$/.exec(line.trim());
        if (!m) continue;
        const to = m[1].replace(/ \(v6\)$/, "");
        const port = /^Anywhere/.test(to) ? "all" : /^(\d+(?::\d+)?)(?:\/(tcp|udp))?$/.exec(to)?.[1] ?? to;
        out.push({ port, text: line.trim().replace(/\s{2,}/g, " ") });
    }
    return out;
}

function ufw(host: DeployedHost, status: string, wantedOpen: string[]): LiveFinding[] {
    const step = stepNamed(host, "firewall");
    const out: LiveFinding[] = [];
    if (!/^Status: active$/m.test(status)) out.push({ id: "NET-3", message: `ufw is not active (${status.split("\n")[0]})`, step });
    else if (!/^Default: deny \(incoming\)/m.test(status)) out.push({ id: "NET-3", message: `ufw's default for incoming traffic is not deny (${/^Default: .*$/m.exec(status)?.[0] ?? "unset"})`, step });
    for (const r of worldRules(status)) {
        if (wantedOpen.includes(r.port)) continue;
        const id: ChecklistId = r.port === "5432" || r.port === "all" ? "NET-2" : "NET-1";
        out.push({ id, message: `ufw admits port ${r.port} from anywhere ("${r.text}"), which the deploy does not open`, step });
    }
    return out;
}

/** Listening sockets (ss -Htln) on addresses other hosts can reach: not loopback. */
function publicListeners(listen: string): { address: string; port: number }[] {
    return listen
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[3])
        .filter((a): a is string => !!a)
        .map((a) => {
            const i = a.lastIndexOf(":");
            return { address: a.slice(0, i).replace(/^\[|\]$/g, "").replace(/%.*$/, ""), port: Number(a.slice(i + 1)) };
        })
        .filter((l) => !/^(127\.|::1$)/.test(l.address));
}


function listeners(host: DeployedHost, listen: string): LiveFinding[] {
    return publicListeners(listen)
        .filter((l) => l.port === 5432 && !isLocalOrPrivate(l.address))
        .map((l) => ({ id: "NET-2" as const, message: `PostgreSQL listens on ${l.address || "every address"}:5432, reachable beyond localhost and the private network`, step: stepNamed(host, "postgresql") }));
}

function fail2ban(host: DeployedHost, status: string, appName: string): LiveFinding[] {
    const step = stepNamed(host, "fail2ban");
    const jails = /Jail list:\s*(.*)$/m.exec(status)?.[1].split(/,\s*/).filter(Boolean);
    if (!jails) return [{ id: "SSH-4", message: `fail2ban is not running (${status.trim().split("\n").pop()}), so no client is banned`, step }, { id: "LOG-2", message: "fail2ban is not running, so the app's failed logins ban no one", step }];
    const out: LiveFinding[] = [];
    if (!jails.includes("sshd")) out.push({ id: "SSH-4", message: `fail2ban runs without its sshd jail (jails: ${jails.join(", ") || "none"})`, step });
    if (!jails.includes(appName)) out.push({ id: "LOG-2", message: `fail2ban runs without the app's jail [${appName}] (jails: ${jails.join(", ") || "none"})`, step });
    return out;
}

function backups(newest: string, now: number, appName: string): LiveFinding[] {
    const m = /^(\d+)(?:\.\d+)? (\S+)$/.exec(newest.trim());
    const command = `sudo systemctl start ${appName}-backup@daily.service`;
    if (!m) return [{ id: "BK-8", message: "no verified backup (a dump with its .sha256) on the host", command }];
    const hours = (now - Number(m[1])) / 3600;
    if (hours <= BACKUP_STALE_HOURS) return [];
    return [{ id: "BK-8", message: `the newest verified backup is ${hours.toFixed(1)} h old (${m[2].replace(/\.sha256$/, "")}), more than ${BACKUP_STALE_HOURS} h`, command }];
}

function drill(text: string, appName: string): LiveFinding[] {
    const [p] = showBlocks(text);
    if (!p.get("ExecMainExitTimestamp")) return []; // never ran yet: its timer is weekly
    if (p.get("Result") === "success") return [];
    return [{ id: "BK-7", message: `the last restore drill failed (result ${p.get("Result")}, status ${p.get("ExecMainStatus")}, at ${p.get("ExecMainExitTimestamp")})`, command: `sudo systemctl start ${appName}-restore-drill.service` }];
}

function certificate(host: DeployedHost, text: string, now: number): LiveFinding[] {
    const end = /^notAfter=(.*)$/m.exec(text)?.[1];
    const step = stepNamed(host, "nginx");
    if (!end) return [{ id: "TLS-5", message: `the certificate cannot be read: ${text.trim().split("\n")[0]}`, step }];
    const days = (Date.parse(end) / 1000 - now) / 86400;
    if (days >= MIN_CERTIFICATE_DAYS) return [];
    const issuer = /^issuer=(.*)$/m.exec(text)?.[1]?.trim();
    return [{ id: "TLS-5", message: days < 0 ? `the certificate expired ${(-days).toFixed(1)} days ago (${end}, issuer ${issuer})` : `the certificate expires in ${days.toFixed(1)} days (${end}); it was not renewed`, step }];
}

function upgrades(host: DeployedHost, text: string): LiveFinding[] {
    const on = (key: string) => new RegExp(`^APT::Periodic::${key} "1";$`, "m").test(text);
    const timer = text.trim().split("\n").pop();
    const problems = [...(on("Update-Package-Lists") ? [] : ["package lists are not updated daily"]), ...(on("Unattended-Upgrade") ? [] : ["unattended upgrades are off"]), ...(timer === "active" ? [] : [`apt-daily-upgrade.timer is ${timer}`])];
    return problems.length ? [{ id: "HOST-1", message: problems.join("; "), step: stepNamed(host, "upgrades") }] : [];
}

/** How long unattended-upgrade may go without a run: it runs daily (apt-daily-upgrade.timer, 6:00 plus up to an hour). */
export const MAX_UPGRADE_RUN_AGE_HOURS = 48;

/** A security update the host has not installed: the probe's `@@security <package> <installed> <newer>` lines. */
export type PendingUpgrade = { name: string; installed: string; candidate: string };

export function pendingSecurity(text: string): PendingUpgrade[] {
    const out = new Map<string, PendingUpgrade>();
    for (const m of text.matchAll(/^@@security (\S+) (\S+) (\S+)$/gm)) out.set(m[1], { name: m[1], installed: m[2], candidate: m[3] });
    return [...out.values()];
}

/**
 * unattended-upgrade's work, not only its settings: it must have run within two days (counted from the deploy
 * that set it up when it never ran), and a security update it saw must be installed. An update counts as seen
 * when unattended-upgrade ran after the package lists last changed; one it left is held, or broke its run.
 */
function upgradeRuns(host: DeployedHost, uu: string, pending: string, now: number): LiveFinding[] {
    if (!stepNamed(host, "upgrades")) return [];
    const mtime = (file: string) => Number(new RegExp(`^@@mtime (\\d+) ${file.replace(/[.]/g, "\\.")}$`, "m").exec(uu)?.[1] ?? NaN);
    const lastRun = mtime("/var/log/unattended-upgrades/unattended-upgrades.log");
    const setUp = mtime("/etc/apt/apt.conf.d/20auto-upgrades");
    const lists = Number(/^@@lists (\d+)/m.exec(uu)?.[1] ?? NaN);
    const held = [...uu.matchAll(/^@@held (\S+)$/gm)].map((m) => m[1]);
    const out: LiveFinding[] = [];
    const since = Number.isNaN(lastRun) ? setUp : lastRun;
    const hours = (now - since) / 3600;
    if (!Number.isNaN(since) && hours > MAX_UPGRADE_RUN_AGE_HOURS) {
        out.push({ id: "HOST-1", message: Number.isNaN(lastRun) ? `unattended-upgrade has not run since the deploy set it up ${hours.toFixed(0)} h ago` : `unattended-upgrade last ran ${hours.toFixed(0)} h ago (more than ${MAX_UPGRADE_RUN_AGE_HOURS} h)`, command: "sudo unattended-upgrade" });
    }
    const security = pendingSecurity(pending);
    if (security.length && !Number.isNaN(lastRun) && !Number.isNaN(lists) && lastRun > lists) {
        const keptBack = security.filter((u) => held.includes(u.name)).map((u) => u.name);
        const shown = security.slice(0, 5).map((u) => `${u.name} ${u.installed} -> ${u.candidate}${held.includes(u.name) ? " (held)" : ""}`).join(", ");
        out.push({
            id: "HOST-1",
            message: `${security.length} security update${security.length === 1 ? " is" : "s are"} pending that unattended-upgrade did not install in its last run (${new Date(lastRun * 1000).toISOString()}), after the package lists changed: ${shown}${security.length > 5 ? ", ..." : ""}`,
            command: `${keptBack.length ? `sudo apt-mark unhold ${keptBack.join(" ")} && ` : ""}sudo unattended-upgrade`,
        });
    }
    return out;
}

function sandbox(host: DeployedHost, text: string, appName: string): LiveFinding[] {
    const [p] = showBlocks(text);
    const step = host.steps.find((s) => s.files.some((f) => f.path === `/etc/systemd/system/${appName}.service`))?.urn;
    const out: LiveFinding[] = [];
    if (!p.get("User") || p.get("User") === "root") out.push({ id: "SVC-1", message: `${appName}.service runs as ${p.get("User") || "root"}`, step });
    const want: [string, string][] = [["NoNewPrivileges", "yes"], ["ProtectSystem", "strict"], ["ProtectHome", "yes"], ["PrivateTmp", "yes"], ["PrivateDevices", "yes"]];
    const off = want.filter(([k, v]) => p.get(k) !== v).map(([k, v]) => `${k}=${p.get(k) ?? "(unset)"} (wanted ${v})`);
    if (off.length) out.push({ id: "SVC-2", message: `${appName}.service runs with ${off.join(", ")}`, step });
    return out;
}

/** The checklist control a timer serves. */
function timerControl(unit: string, appName: string): ChecklistId {
    if (unit.startsWith(`${appName}-restore-drill`)) return "BK-7";
    if (unit.startsWith(`${appName}-backup-stale`)) return "BK-8";
    if (unit.startsWith(`${appName}-backup`)) return "BK-1";
    if (unit.startsWith("apt-daily")) return "HOST-1";
    if (unit.includes("healthcheck")) return "SVC-6";
    return "MON-1";
}

/**
 * Timers that will not fire again (no next elapse of either kind): their job has stopped, whatever their unit's state
 * says. A timer whose unit it started still runs (its sub-state `running`) has no next elapse until that unit ends,
 * when systemd arms it again; that is not it. The timer's own sub-state is read in the same call as its next elapse:
 * the state of the unit it starts, read a moment later, may already be `failed` or `inactive` after the timer was read
 * as running.
 */
function timers(host: DeployedHost, text: string, appName: string): LiveFinding[] {
    const out: LiveFinding[] = [];
    for (const p of showBlocks(text)) {
        const id = p.get("Id");
        if (!id?.endsWith(".timer")) continue;
        // A calendar timer's next run is realtime, a monotonic one's (OnUnitActiveSec=) is not; either will fire.
        // systemctl prints an unset timestamp as n/a (or empty), an unset span as 0.
        const set = (v: string | undefined) => !!v && !["n/a", "0", "infinity"].includes(v);
        if (set(p.get("NextElapseUSecRealtime")) || set(p.get("NextElapseUSecMonotonic"))) continue;
        if (p.get("SubState") === "running") continue;
        const step = host.steps.find((s) => s.units.includes(id))?.urn;
        out.push({ id: timerControl(id, appName), message: `${id} has no next run (last run: ${set(p.get("LastTriggerUSec")) ? p.get("LastTriggerUSec") : "never"})`, step });
    }
    return out;
}

/**
 * The live findings of one host. `wantedOpen`: the ports its ufw rules file opens to anyone (`80`, `443`, an SSH
 * port in staging); `appName`: the app; sections a host does not have (no nginx, no backups) are not judged.
 */
export function liveFindings(host: DeployedHost, probe: ProbeResult, o: { appName: string; wantedOpen: string[] }): LiveFinding[] {
    const s = probe.sections;
    return [
        ...timers(host, s.get("units") ?? "", o.appName),
        ...sshd(host, s.get("sshd") ?? ""),
        ...ufw(host, s.get("ufw") ?? "", o.wantedOpen),
        ...listeners(host, s.get("listen") ?? ""),
        ...fail2ban(host, s.get("fail2ban") ?? "", o.appName),
        ...(s.has("backups") ? backups(s.get("backups")!, probe.now, o.appName) : []),
        ...(s.has("drill") ? drill(s.get("drill")!, o.appName) : []),
        ...(s.has("cert") ? certificate(host, s.get("cert")!, probe.now) : []),
        ...upgrades(host, s.get("upgrades") ?? ""),
        ...upgradeRuns(host, s.get("uu") ?? "", s.get("pending") ?? "", probe.now),
        ...(host.steps.some((st) => st.files.some((f) => f.path === `/etc/systemd/system/${o.appName}.service`)) ? sandbox(host, s.get("sandbox") ?? "", o.appName) : []),
    ];
}

/** The ports a ufw rules file (lib/render/ufw.ts) opens to anyone. */
export function openToAnyone(rules: string): string[] {
    return [...rules.matchAll(/^allow proto \w+ to any port (\d+)$/gm)].map((m) => m[1]);
}
